# Builds both binaries of the workspace: the target service and the load generator.
# Stage 1 compiles (with cached dependency downloads); stage 2 is a slim non-root runtime.
# The service is built with the `etcd` feature (live configuration, ETCD_URL), whose
# gRPC client needs protoc and the protobuf well-known types at build time.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler libprotobuf-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY loadgen loadgen
COPY scenarios scenarios
COPY target-service target-service
# A workspace member: cargo reads every member's manifest, even when building others.
COPY examples examples
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p target-service -p scenarios --features target-service/etcd \
 && mkdir -p /out \
 && cp target/release/target-service target/release/loadgen /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --create-home app
COPY --from=build /out/target-service /out/loadgen /usr/local/bin/
USER app
WORKDIR /app
ENV BIND_ADDR=0.0.0.0:8080 RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["/usr/local/bin/target-service"]
