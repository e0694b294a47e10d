# The cd4ml image (docker-compose.yml builds it for both workers, `cd4ml serve` and the webhook gateway).
# A location worker trains the project with the Python libraries in its venv;
# a project with other needs configures a training image instead (cd4ml.yaml `image`).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.9
WORKDIR /app
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
COPY examples/penguins/requirements.txt examples/penguins/
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r examples/penguins/requirements.txt
COPY . .
# The workers, the CLI (gateway, serve) and the workflow bundle as plain JavaScript (workers/dist, client/dist).
RUN pnpm exec tsx scripts/build.ts
ENV CD4ML_VENV=/opt/venv CD4ML_HOME=/var/lib/cd4ml
CMD ["node", "workers/dist/control-worker.js"]
