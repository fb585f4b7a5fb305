# One image for the API, a CPU worker and the migration job. GPU workers have their own images under docker/
# (worker-tfjs-gpu.Dockerfile, worker-pytorch.Dockerfile).
#
# Stage 1 keeps only the package manifests, so that `npm ci` is rebuilt only when a manifest changes (and every
# workspace is there, whatever packages/ and apps/ hold).
FROM node:20-bookworm-slim AS manifests
WORKDIR /app
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json ! -path './prisma/*' ! -name prisma.config.ts \
      ! -path './packages/db/src/migration-adapter.ts' -delete && find . -type d -empty -delete

FROM node:20-bookworm-slim
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 NODE_ENV=production
COPY --from=manifests /app ./
# The optional native TensorFlow packages download libtensorflow at install where they can (tfjs-node on a CPU
# image); where they cannot, the trainer falls back to WebAssembly.
RUN npm ci --include=dev
COPY . .
RUN npm run build:dashboard
CMD ["npx", "tsx", "apps/api/src/main.ts"]
