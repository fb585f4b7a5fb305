# One image for the API, the worker and the migration job. On GPU nodes, build FROM an NVIDIA CUDA runtime
# image with Node 20 instead: `npm ci` then also installs @tensorflow/tfjs-node-gpu (an optional dependency
# that downloads libtensorflow; set TFJS_NODE_CDN_STORAGE to use a mirror).
FROM node:20-bookworm-slim
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 NODE_ENV=production
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/cli/package.json apps/cli/
COPY apps/dashboard/package.json apps/dashboard/
COPY apps/demo/package.json apps/demo/
COPY packages/core/package.json packages/core/
COPY packages/metrics/package.json packages/metrics/
COPY packages/data/package.json packages/data/
COPY packages/models/package.json packages/models/
COPY packages/trainer/package.json packages/trainer/
COPY packages/db/package.json packages/db/
COPY packages/queue/package.json packages/queue/
COPY packages/config/package.json packages/config/
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY packages/db/src/migration-adapter.ts packages/db/src/
RUN npm ci --include=dev
COPY . .
RUN npm run build:dashboard
CMD ["npx", "tsx", "apps/api/src/main.ts"]
