{{/*
Names are cut at 52 characters: a CronJob's name may not exceed 52 (its Jobs append 11).
*/}}
{{- define "halo-integrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "halo-integrator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<suffix>", the full name shortened so that the result fits in 52. */}}
{{- define "halo-integrator.suffixed" -}}
{{- $root := index . 0 }}{{- $suffix := index . 1 }}
{{- $max := sub 51 (len $suffix) | int }}
{{- printf "%s-%s" (include "halo-integrator.fullname" $root | trunc $max | trimSuffix "-") $suffix }}
{{- end }}

{{- define "halo-integrator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "halo-integrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "halo-integrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "halo-integrator.labels" -}}
helm.sh/chart: {{ include "halo-integrator.chart" . }}
{{ include "halo-integrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: halo-integrator
{{- end }}

{{- define "halo-integrator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "halo-integrator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "halo-integrator.secretName" -}}
{{- default (include "halo-integrator.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "halo-integrator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Whether an enabled import reads Microsoft Graph. */}}
{{- define "halo-integrator.needsEntra" -}}
{{- if or (has "entra-users" .Values.imports.enabled) (has "intune-devices" .Values.imports.enabled) }}true{{ end }}
{{- end }}

{{/* Whether the Entra client secret is mounted (an Entra import without workload identity). */}}
{{- define "halo-integrator.entraSecret" -}}
{{- if and (include "halo-integrator.needsEntra" .) (not .Values.workloadIdentity.enabled) }}true{{ end }}
{{- end }}

{{/* The chart-made ConfigMap: the mapping file and inline import files. */}}
{{- define "halo-integrator.configName" -}}
{{- include "halo-integrator.suffixed" (list . "config") }}
{{- end }}

{{/*
Where an import file comes from: {existingConfigMap, key, content} → the ConfigMap that
holds it (the user's, or the chart-made one for inline content); empty: no file.
Call with (list $root $file).
*/}}
{{- define "halo-integrator.fileConfigMap" -}}
{{- $root := index . 0 }}{{- $file := index . 1 }}
{{- if $file.existingConfigMap }}{{ $file.existingConfigMap }}
{{- else if $file.content }}{{ include "halo-integrator.configName" $root }}
{{- end }}
{{- end }}

{{/* The data of the chart-made ConfigMap (empty: no ConfigMap). */}}
{{- define "halo-integrator.configData" -}}
{{- $v := .Values }}
{{- if kindIs "string" $v.mapping }}
{{- with $v.mapping }}
mapping.yaml: {{ . | quote }}
{{- end }}
{{- else if $v.mapping }}
mapping.yaml: |
  {{- toYaml $v.mapping | nindent 2 }}
{{- end }}
{{- with $v.imports.csvAssets.file }}
{{- if and (has "csv-assets" $v.imports.enabled) (not .existingConfigMap) .content }}
{{ .key }}: {{ .content | quote }}
{{- end }}
{{- end }}
{{- with $v.imports.ldapUsers.caBundle }}
{{- if and (has "ldap-users" $v.imports.enabled) (not .existingConfigMap) .content }}
{{ .key }}: {{ .content | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The TCP port of imports.ldapUsers.url: explicit, else 636 (ldaps) or 389 (ldap). */}}
{{- define "halo-integrator.ldapPort" -}}
{{- $url := urlParse (.Values.imports.ldapUsers.url | default "") }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" }}
{{- if $port }}{{ $port }}{{ else if eq $url.scheme "ldaps" }}636{{ else }}389{{ end }}
{{- end }}

{{- define "halo-integrator.metricsEnabled" -}}
{{- if or .Values.telemetry.metrics.enabled .Values.podMonitor.enabled }}true{{ end }}
{{- end }}

{{/* Checks that fail the render with a message naming the value. */}}
{{- define "halo-integrator.validate" -}}
{{- if not .Values.halo.url }}{{ fail "halo.url is required (HALO_URL), e.g. https://acme.halopsa.com" }}{{ end }}
{{- if not .Values.halo.clientId }}{{ fail "halo.clientId is required (HALO_CLIENT_ID)" }}{{ end }}
{{- if not .Values.existingSecret }}
{{- if not .Values.halo.clientSecret }}{{ fail "halo.clientSecret is required (or existingSecret)" }}{{ end }}
{{- if and (include "halo-integrator.entraSecret" .) (not .Values.entra.clientSecret) }}{{ fail "entra.clientSecret is required by the Entra imports (or existingSecret, or workloadIdentity.enabled)" }}{{ end }}
{{- end }}
{{- if and (include "halo-integrator.needsEntra" .) (not .Values.entra.clientId) (not .Values.workloadIdentity.enabled) }}{{ fail "entra.clientId is required by the Entra imports (ENTRA_CLIENT_ID)" }}{{ end }}
{{- if and .Values.workloadIdentity.enabled (not .Values.workloadIdentity.clientId) (not .Values.entra.clientId) }}{{ fail "workloadIdentity.clientId (or entra.clientId) is required with workloadIdentity.enabled" }}{{ end }}
{{- if has "csv-assets" .Values.imports.enabled }}
{{- with .Values.imports.csvAssets }}
{{- if not (include "halo-integrator.fileConfigMap" (list $ .file)) }}{{ fail "imports.csvAssets.file.existingConfigMap or imports.csvAssets.file.content is required by csv-assets (CSV_ASSETS_PATH)" }}{{ end }}
{{- if not .columns }}{{ fail "imports.csvAssets.columns is required by csv-assets (CSV_ASSETS_COLUMNS)" }}{{ end }}
{{- if kindIs "invalid" .linkField }}{{ fail "imports.csvAssets.linkField is required by csv-assets (CSV_ASSETS_LINK_FIELD)" }}{{ end }}
{{- end }}
{{- end }}
{{- if has "ldap-users" .Values.imports.enabled }}
{{- with .Values.imports.ldapUsers }}
{{- if not .url }}{{ fail "imports.ldapUsers.url is required by ldap-users (LDAP_URL)" }}{{ end }}
{{- if not .bindDn }}{{ fail "imports.ldapUsers.bindDn is required by ldap-users (LDAP_BIND_DN)" }}{{ end }}
{{- if and (not $.Values.existingSecret) (not .bindPassword) }}{{ fail "imports.ldapUsers.bindPassword is required by ldap-users (or existingSecret with the key secretKeys.ldapBindPassword)" }}{{ end }}
{{- if not .baseDn }}{{ fail "imports.ldapUsers.baseDn is required by ldap-users (LDAP_BASE_DN)" }}{{ end }}
{{- if and (not .client) (not .clientMap) }}{{ fail "imports.ldapUsers.client or imports.ldapUsers.clientMap is required by ldap-users (LDAP_CLIENT / LDAP_CLIENT_MAP)" }}{{ end }}
{{- if not .linkField }}{{ fail "imports.ldapUsers.linkField is required by ldap-users (LDAP_LINK_FIELD: other1 ... other5)" }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The pod spec shared by the CronJob's pods and the `helm test` pod.
Call with (dict "root" $ "args" (list ...) "job" true|false "component" "sync").
*/}}
{{- define "halo-integrator.podSpec" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $mount := $v.secretMountPath | trimSuffix "/" -}}
serviceAccountName: {{ include "halo-integrator.serviceAccountName" $root }}
automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
restartPolicy: Never
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
containers:
  - name: halo-integrator
    image: {{ include "halo-integrator.image" $root | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    {{- if and .job (include "halo-integrator.metricsEnabled" $root) }}
    ports:
      - name: metrics
        containerPort: {{ $v.telemetry.metrics.port }}
        protocol: TCP
    {{- end }}
    env:
      # --- halo
      - name: HALO_URL
        value: {{ $v.halo.url | quote }}
      {{- with $v.halo.apiUrl }}
      - name: HALO_API_URL
        value: {{ . | quote }}
      {{- end }}
      {{- with $v.halo.authUrl }}
      - name: HALO_AUTH_URL
        value: {{ . | quote }}
      {{- end }}
      {{- with $v.halo.tenant }}
      - name: HALO_TENANT
        value: {{ . | quote }}
      {{- end }}
      - name: HALO_CLIENT_ID
        value: {{ $v.halo.clientId | quote }}
      - name: HALO_CLIENT_SECRET_FILE
        value: {{ printf "%s/%s" $mount $v.secretKeys.haloClientSecret | quote }}
      {{- with $v.halo.scope }}
      - name: HALO_SCOPE
        value: {{ . | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" $v.halo.rateLimitRequests) }}
      - name: HALO_RATE_LIMIT_REQUESTS
        value: {{ $v.halo.rateLimitRequests | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" $v.halo.rateLimitWindowSeconds) }}
      - name: HALO_RATE_LIMIT_WINDOW_SECONDS
        value: {{ $v.halo.rateLimitWindowSeconds | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" $v.halo.batchSize) }}
      - name: HALO_BATCH_SIZE
        value: {{ $v.halo.batchSize | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" $v.halo.timeoutSeconds) }}
      - name: HALO_TIMEOUT_SECONDS
        value: {{ $v.halo.timeoutSeconds | toString | quote }}
      {{- end }}
      # --- entra
      {{- if include "halo-integrator.needsEntra" $root }}
      {{- with ($v.entra.clientId | default $v.workloadIdentity.clientId) }}
      - name: ENTRA_CLIENT_ID
        value: {{ . | quote }}
      {{- end }}
      {{- if include "halo-integrator.entraSecret" $root }}
      - name: ENTRA_CLIENT_SECRET_FILE
        value: {{ printf "%s/%s" $mount $v.secretKeys.entraClientSecret | quote }}
      {{- end }}
      - name: ENTRA_TENANTS
        value: {{ $v.entra.tenants | quote }}
      {{- with $v.entra.authorityHost }}
      - name: ENTRA_AUTHORITY_HOST
        value: {{ . | quote }}
      {{- end }}
      {{- with $v.entra.graphUrl }}
      - name: GRAPH_URL
        value: {{ . | quote }}
      {{- end }}
      {{- end }}
      # --- imports
      - name: INTEGRATOR_IMPORTS
        value: {{ join "," $v.imports.enabled | quote }}
      {{- if has "entra-users" $v.imports.enabled }}
      - name: ENTRA_USERS_INCLUDE_GUESTS
        value: {{ $v.imports.entraUsers.includeGuests | toString | quote }}
      {{- with $v.imports.entraUsers.filter }}
      - name: ENTRA_USERS_FILTER
        value: {{ . | quote }}
      {{- end }}
      {{- end }}
      {{- if has "intune-devices" $v.imports.enabled }}
      {{- with $v.imports.intuneDevices.assetType }}
      - name: INTUNE_ASSET_TYPE
        value: {{ . | quote }}
      {{- end }}
      {{- range $key, $var := dict "serial" "INTUNE_FIELD_SERIAL" "model" "INTUNE_FIELD_MODEL" "os" "INTUNE_FIELD_OS" "lastSeen" "INTUNE_FIELD_LAST_SEEN" }}
      {{- with index $v.imports.intuneDevices.fields $key }}
      - name: {{ $var }}
        value: {{ . | toString | quote }}
      {{- end }}
      {{- end }}
      {{- end }}
      {{- if has "csv-assets" $v.imports.enabled }}
      {{- with $v.imports.csvAssets }}
      - name: CSV_ASSETS_PATH
        value: {{ printf "%s/%s" (.mountPath | trimSuffix "/") .file.key | quote }}
      - name: CSV_ASSETS_COLUMNS
        value: {{ .columns | quote }}
      {{- with .match }}
      - name: CSV_ASSETS_MATCH
        value: {{ . | quote }}
      {{- end }}
      - name: CSV_ASSETS_LINK_FIELD
        value: {{ .linkField | toString | quote }}
      {{- with .assetType }}
      - name: CSV_ASSETS_TYPE
        value: {{ . | quote }}
      {{- end }}
      {{- with .delimiter }}
      - name: CSV_ASSETS_DELIMITER
        value: {{ . | quote }}
      {{- end }}
      {{- end }}
      {{- end }}
      {{- if has "ldap-users" $v.imports.enabled }}
      {{- with $v.imports.ldapUsers }}
      - name: LDAP_URL
        value: {{ .url | quote }}
      - name: LDAP_STARTTLS
        value: {{ .startTls | toString | quote }}
      - name: LDAP_BIND_DN
        value: {{ .bindDn | quote }}
      - name: LDAP_BIND_PASSWORD_FILE
        value: {{ printf "%s/%s" $mount $v.secretKeys.ldapBindPassword | quote }}
      {{- if include "halo-integrator.fileConfigMap" (list $root .caBundle) }}
      - name: LDAP_CA_FILE
        value: {{ printf "%s/%s" (.caBundle.mountPath | trimSuffix "/") .caBundle.key | quote }}
      {{- end }}
      - name: LDAP_BASE_DN
        value: {{ .baseDn | quote }}
      {{- with .filter }}
      - name: LDAP_FILTER
        value: {{ . | quote }}
      {{- end }}
      {{- with .attributes }}
      - name: LDAP_ATTRIBUTES
        value: {{ . | quote }}
      {{- end }}
      {{- with .client }}
      - name: LDAP_CLIENT
        value: {{ . | quote }}
      {{- end }}
      {{- with .clientMap }}
      {{- $pairs := list }}
      {{- range . }}
      {{- $pairs = append $pairs (printf "%s=%s" .dn .client) }}
      {{- end }}
      - name: LDAP_CLIENT_MAP
        value: {{ join ";" $pairs | quote }}
      {{- end }}
      - name: LDAP_LINK_FIELD
        value: {{ .linkField | quote }}
      {{- if not (kindIs "invalid" .pageSize) }}
      - name: LDAP_PAGE_SIZE
        value: {{ .pageSize | toString | quote }}
      {{- end }}
      {{- end }}
      {{- end }}
      {{- if $v.mapping }}
      # --- the mapping file
      - name: INTEGRATOR_CONFIG_FILE
        value: {{ printf "%s/mapping.yaml" ($v.mappingMountPath | trimSuffix "/") | quote }}
      {{- end }}
      # --- safety
      - name: INTEGRATOR_DRY_RUN
        value: {{ $v.safety.dryRun | toString | quote }}
      - name: INTEGRATOR_DEACTIVATE_MISSING
        value: {{ $v.safety.deactivateMissing | toString | quote }}
      - name: INTEGRATOR_MAX_DEACTIVATIONS
        value: {{ $v.safety.maxDeactivations | toString | quote }}
      - name: INTEGRATOR_MAX_DEACTIVATION_PERCENT
        value: {{ $v.safety.maxDeactivationPercent | toString | quote }}
      {{- if and .job (gt (int $v.shards) 1) }}
      - name: INTEGRATOR_SHARD_COUNT
        value: {{ $v.shards | toString | quote }}
      {{- end }}
      # --- problem tickets
      {{- with $v.tickets }}
      {{- if .enabled }}
      - name: INTEGRATOR_HALO_TICKETS
        value: "true"
      - name: INTEGRATOR_TICKET_TYPE_ID
        value: {{ required "tickets.typeId is required when tickets.enabled" .typeId | toString | quote }}
      - name: INTEGRATOR_TICKET_CLIENT
        value: {{ required "tickets.client is required when tickets.enabled" .client | toString | quote }}
      - name: INTEGRATOR_TICKET_OUTCOME_ID
        value: {{ required "tickets.outcomeId is required when tickets.enabled" .outcomeId | toString | quote }}
      {{- with .team }}
      - name: INTEGRATOR_TICKET_TEAM
        value: {{ . | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" .agentId) }}
      - name: INTEGRATOR_TICKET_AGENT_ID
        value: {{ .agentId | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" .closedStatusId) }}
      - name: INTEGRATOR_TICKET_CLOSED_STATUS_ID
        value: {{ .closedStatusId | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" .maxPerRun) }}
      - name: INTEGRATOR_TICKET_MAX_PER_RUN
        value: {{ .maxPerRun | toString | quote }}
      {{- end }}
      {{- end }}
      {{- end }}
      # --- http
      {{- if not (kindIs "invalid" $v.http.retryMaxAttempts) }}
      - name: INTEGRATOR_RETRY_MAX_ATTEMPTS
        value: {{ $v.http.retryMaxAttempts | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" $v.http.retryInitialDelayMs) }}
      - name: INTEGRATOR_RETRY_INITIAL_DELAY_MS
        value: {{ $v.http.retryInitialDelayMs | toString | quote }}
      {{- end }}
      {{- if not (kindIs "invalid" $v.http.retryMaxDelaySeconds) }}
      - name: INTEGRATOR_RETRY_MAX_DELAY_SECONDS
        value: {{ $v.http.retryMaxDelaySeconds | toString | quote }}
      {{- end }}
      {{- if $v.http.allowInsecureHttp }}
      - name: INTEGRATOR_ALLOW_INSECURE_HTTP
        value: "true"
      {{- end }}
      # --- telemetry
      - name: INTEGRATOR_LOG_FORMAT
        value: {{ $v.telemetry.logFormat | quote }}
      - name: RUST_LOG
        value: {{ $v.telemetry.logLevel | quote }}
      {{- if and .job (include "halo-integrator.metricsEnabled" $root) }}
      - name: INTEGRATOR_METRICS_ADDR
        value: {{ printf "0.0.0.0:%v" $v.telemetry.metrics.port | quote }}
      {{- end }}
      {{- with $v.telemetry.pushgatewayUrl }}
      - name: INTEGRATOR_PUSHGATEWAY_URL
        value: {{ . | quote }}
      {{- end }}
      {{- with $v.telemetry.otel }}
      {{- with .endpoint }}
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: {{ . | quote }}
      {{- end }}
      {{- with .tracesEndpoint }}
      - name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
        value: {{ . | quote }}
      {{- end }}
      {{- if .headersSecret.name }}
      - name: OTEL_EXPORTER_OTLP_HEADERS
        valueFrom:
          secretKeyRef:
            name: {{ .headersSecret.name | quote }}
            key: {{ .headersSecret.key | quote }}
      {{- else if .headers }}
      - name: OTEL_EXPORTER_OTLP_HEADERS
        value: {{ .headers | quote }}
      {{- end }}
      - name: OTEL_EXPORTER_OTLP_TIMEOUT
        value: {{ .timeoutMs | toString | quote }}
      - name: OTEL_SERVICE_NAME
        value: {{ .serviceName | quote }}
      {{- if .sdkDisabled }}
      - name: OTEL_SDK_DISABLED
        value: "true"
      {{- end }}
      {{- $attrs := list }}
      {{- if .kubernetesResourceAttributes }}
      - name: K8S_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
      - name: K8S_POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
      - name: K8S_CRONJOB_NAME
        value: {{ include "halo-integrator.fullname" $root | quote }}
      {{- $attrs = list "k8s.namespace.name=$(K8S_NAMESPACE)" "k8s.pod.name=$(K8S_POD_NAME)" "k8s.cronjob.name=$(K8S_CRONJOB_NAME)" }}
      {{- if $.job }}
      - name: K8S_JOB_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.labels['batch.kubernetes.io/job-name']
      {{- $attrs = append $attrs "k8s.job.name=$(K8S_JOB_NAME)" }}
      {{- end }}
      {{- end }}
      {{- with .resourceAttributes }}
      {{- $attrs = append $attrs . }}
      {{- end }}
      {{- if $attrs }}
      - name: OTEL_RESOURCE_ATTRIBUTES
        value: {{ join "," $attrs | quote }}
      {{- end }}
      {{- end }}
      {{- with $v.extraEnv }}
      # --- extraEnv
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- with $v.extraEnvFrom }}
    envFrom:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    resources:
      {{- toYaml $v.resources | nindent 6 }}
    volumeMounts:
      - name: secrets
        mountPath: {{ $mount | quote }}
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- if has "csv-assets" $v.imports.enabled }}
      - name: csv-assets
        mountPath: {{ $v.imports.csvAssets.mountPath | quote }}
        readOnly: true
      {{- end }}
      {{- if and (has "ldap-users" $v.imports.enabled) (include "halo-integrator.fileConfigMap" (list $root $v.imports.ldapUsers.caBundle)) }}
      - name: ldap-ca
        mountPath: {{ $v.imports.ldapUsers.caBundle.mountPath | quote }}
        readOnly: true
      {{- end }}
      {{- if $v.mapping }}
      - name: mapping
        mountPath: {{ $v.mappingMountPath | quote }}
        readOnly: true
      {{- end }}
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: secrets
    secret:
      secretName: {{ include "halo-integrator.secretName" $root }}
      defaultMode: 0440
      items:
        - key: {{ $v.secretKeys.haloClientSecret | quote }}
          path: {{ $v.secretKeys.haloClientSecret | quote }}
        {{- if include "halo-integrator.entraSecret" $root }}
        - key: {{ $v.secretKeys.entraClientSecret | quote }}
          path: {{ $v.secretKeys.entraClientSecret | quote }}
        {{- end }}
        {{- if has "ldap-users" $v.imports.enabled }}
        - key: {{ $v.secretKeys.ldapBindPassword | quote }}
          path: {{ $v.secretKeys.ldapBindPassword | quote }}
        {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
  {{- if has "csv-assets" $v.imports.enabled }}
  {{- with $v.imports.csvAssets.file }}
  - name: csv-assets
    configMap:
      name: {{ include "halo-integrator.fileConfigMap" (list $root .) }}
      items:
        - key: {{ .key | quote }}
          path: {{ .key | quote }}
  {{- end }}
  {{- end }}
  {{- with $v.imports.ldapUsers.caBundle }}
  {{- if and (has "ldap-users" $v.imports.enabled) (include "halo-integrator.fileConfigMap" (list $root .)) }}
  - name: ldap-ca
    configMap:
      name: {{ include "halo-integrator.fileConfigMap" (list $root .) }}
      items:
        - key: {{ .key | quote }}
          path: {{ .key | quote }}
  {{- end }}
  {{- end }}
  {{- if $v.mapping }}
  - name: mapping
    configMap:
      name: {{ include "halo-integrator.configName" $root }}
      items:
        - key: mapping.yaml
          path: mapping.yaml
  {{- end }}
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod metadata labels shared by the CronJob's pods and the test pod. */}}
{{- define "halo-integrator.podLabels" -}}
{{- $root := .root -}}
{{ include "halo-integrator.labels" $root }}
app.kubernetes.io/component: {{ .component }}
{{- if $root.Values.workloadIdentity.enabled }}
azure.workload.identity/use: "true"
{{- end }}
{{- with $root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
