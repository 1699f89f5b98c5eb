# syntax=docker/dockerfile:1
#
# morpho: `docker build -t morpho .` then `docker run -p 8080:8080 -v morpho-data:/data morpho`.
# The default command serves the Production model of the store in /data; any other morpho
# command runs the same way (`docker run --rm -v morpho-data:/data morpho list`).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile the TypeScript with the full dependency set ------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: `prepare` would compile before the sources are copied, and
# @tensorflow/tfjs-node's would download a native library that nothing here uses.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY commands ./commands
RUN npm run build

# ---- runtime: production dependencies, the compiled code, a non-root user -------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MORPHO_HOME=/data
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which a production install does not have. It also
# skips tfjs-node's download, so its folder exists without its native addon and morpho falls
# back to the WebAssembly backend (`morpho doctor` says which backend runs).
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist ./dist
COPY bin ./bin
RUN chmod 0755 /app/bin/run.js \
 && ln -s /app/bin/run.js /usr/local/bin/morpho \
 && groupadd --system --gid 10001 morpho \
 && useradd --system --uid 10001 --gid morpho --home-dir /data --no-create-home --shell /usr/sbin/nologin morpho \
 && mkdir -p /data \
 && chown morpho:morpho /data
USER morpho
VOLUME ["/data"]
EXPOSE 8080
# `morpho health` asks the local server and exits 0 only when it answers with a model loaded:
# no curl or wget in the image.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["morpho", "health"]
ENTRYPOINT ["morpho"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
