# A GPU worker node for the TensorFlow.js trainer. @tensorflow/tfjs-node-gpu 4.22.0 binds libtensorflow 2.9.1,
# built for CUDA 11.2 and cuDNN 8.1, so the base is NVIDIA's CUDA 11.2.2 + cuDNN 8 runtime (Ubuntu 20.04) and
# the host needs an NVIDIA driver ≥ 460 with the NVIDIA Container Toolkit. Newer CUDA runtimes do not load it:
# on current GPU nodes prefer worker-pytorch.Dockerfile.
#   docker build -f docker/worker-tfjs-gpu.Dockerfile -t hypersweep-worker-tfjs-gpu .
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
ARG NODE_VERSION=20.19.5
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl xz-utils python3 make g++ \
 && curl -fsSL https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz | tar -xJ -C /usr/local --strip-components=1 \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 NODE_ENV=production
COPY . .
# Installs @tensorflow/tfjs-node-gpu (an optional dependency), which downloads libtensorflow-gpu 2.9.1.
RUN npm ci --include=dev && node -e "require('@tensorflow/tfjs-node-gpu')"
# Trials of sweeps with trainer "tfjs" (the default), on the GPU.
ENV HYPERSWEEP_BACKEND=tensorflow-gpu HYPERSWEEP_TRAINERS=tfjs
CMD ["npx", "tsx", "apps/worker/src/main.ts"]
