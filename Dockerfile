# syntax=docker/dockerfile:1
#
# halo-integrator container image: a static musl binary on `scratch`, plus a CA bundle.
#
#   docker build -t halo-integrator .            # or: podman build -t halo-integrator .
#   docker run --rm --read-only --user 65534 --cap-drop ALL halo-integrator demo
#
# Stage `build` compiles a static x86_64-unknown-linux-musl release binary (Cargo.toml's
# release profile: LTO, one codegen unit, stripped). Stage `runtime` (the default, last
# stage) holds only that binary and the CA bundle that reqwest/rustls reads as the OS
# certificate store (without it the HTTP client cannot be built). No shell, no package
# manager, numeric non-root user: fine with a read-only root filesystem and no
# capabilities. scripts/checks/image.sh builds this whole file as written, from the
# build context that .dockerignore admits, and runs the image.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
# musl-tools: aws-lc-sys (rustls' crypto) needs x86_64-linux-musl-gcc.
# ca-certificates: the bundle copied into the runtime stage.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY benches ./benches
# Embedded by src/demo.rs (include_bytes!): the demo's csv-assets file and mapping file.
COPY deploy/examples/assets.csv ./deploy/examples/assets.csv
COPY deploy/examples/mapping.yaml ./deploy/examples/mapping.yaml
RUN cargo build --locked --release --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/halo-integrator /halo-integrator

FROM scratch AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="halo-integrator" \
      org.opencontainers.image.description="Keeps HaloPSA in sync with Microsoft Entra ID and Intune; a Kubernetes CronJob worker" \
      org.opencontainers.image.source="https://github.com/halo-integrator/halo-integrator" \
      org.opencontainers.image.url="https://github.com/halo-integrator/halo-integrator" \
      org.opencontainers.image.documentation="https://github.com/halo-integrator/halo-integrator#install-on-kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /halo-integrator /halo-integrator
USER 65534:65534
ENTRYPOINT ["/halo-integrator"]
CMD ["run"]
