// Validates prometheus-operator objects against the CRD schemas of the npm package
// @kubernetes-models/prometheus-operator. Reads a JSON array of objects on stdin; prints
// one line per object; exits 1 if any is invalid or of an unknown kind.
// PROM_OP_NODE_MODULES: the node_modules directory the package is installed in.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = process.env.PROM_OP_NODE_MODULES;
if (!root) {
  console.error("PROM_OP_NODE_MODULES is not set");
  process.exit(2);
}
const v1 = join(root, "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
const kinds = {};
for (const kind of ["PodMonitor", "PrometheusRule", "ServiceMonitor"]) {
  kinds[kind] = (await import(pathToFileURL(join(v1, `${kind}.js`)).href))[kind];
}

const docs = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const doc of docs) {
  const what = `${doc.kind}/${doc.metadata?.name}`;
  const Model = kinds[doc.kind];
  if (!Model || doc.apiVersion !== "monitoring.coreos.com/v1") {
    console.log(`INVALID ${what}: not a known monitoring.coreos.com/v1 kind`);
    failed++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`valid ${what}`);
  } catch (e) {
    console.log(`INVALID ${what}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
