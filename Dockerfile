# The cd4ml image: one image for every role (docker-compose.yml runs it as the control worker,
# the location worker, `cd4ml serve` and the webhook gateway), with plain node at run time.
# Three stages: build (pnpm, tsx, esbuild: the dev toolchain), deps (npm installs the two packed
# packages, production dependencies only), runtime (node, git, Python for DVC, and those files).
# A location worker trains the project with the Python libraries in its venv;
# a project with other needs configures a training image instead (cd4ml.yaml `image`).
FROM node:20-bookworm-slim AS build
RUN npm install -g pnpm@10.34.9
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY contracts/package.json contracts/
COPY onnx/package.json onnx/
COPY stores/package.json stores/
COPY workflows/package.json workflows/
COPY activities/package.json activities/
COPY workers/package.json workers/
COPY client/package.json client/
COPY test/package.json test/
COPY bench/package.json bench/
COPY serving/package.json serving/
# onnxruntime-node's install script would fetch CUDA binaries; the CPU ones ship in the package.
RUN ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile
COPY . .
# The workers, the CLI (gateway, serve) and the workflow bundle as plain JavaScript (workers/dist, client/dist),
# packed as npm installs them anywhere (the client is the installable `cd4ml` command).
RUN pnpm exec tsx scripts/build.ts \
 && pnpm --dir client pack --pack-destination /packs \
 && pnpm --dir workers pack --pack-destination /packs

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY --from=build /packs/ /packs/
RUN echo '{"name": "cd4ml-image", "private": true}' > package.json \
 && ONNXRUNTIME_NODE_INSTALL=skip npm install --omit=dev --no-audit --no-fund /packs/*.tgz \
 && npm cache clean --force \
 # The paths docker-compose.yml runs (workers/dist/..., client/dist/cli.js), as in a checkout.
 && ln -s node_modules/@cd4ml/workers workers && ln -s node_modules/@cd4ml/client client

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY examples/penguins/requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt
WORKDIR /app
COPY --from=deps /app /app
ENV CD4ML_VENV=/opt/venv CD4ML_HOME=/var/lib/cd4ml PATH=/app/node_modules/.bin:$PATH NODE_ENV=production
CMD ["node", "workers/dist/control-worker.js"]
