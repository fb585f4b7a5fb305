# A GPU worker node for the PyTorch trainer (trainers/pytorch) on a current CUDA: PyTorch 2.5.1 with CUDA 12.4
# and cuDNN 9 (NVIDIA driver ≥ 550 with the NVIDIA Container Toolkit). The worker itself is Node 20; each trial
# runs `python -m hypersweep_trainer` in its own process, one GPU each (CUDA_VISIBLE_DEVICES).
#   docker build -f docker/worker-pytorch.Dockerfile -t hypersweep-worker-pytorch .
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
ARG NODE_VERSION=20.19.5
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl xz-utils \
 && curl -fsSL https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz | tar -xJ -C /usr/local --strip-components=1 \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 NODE_ENV=production
COPY . .
RUN npm ci --include=dev && python -c "import torch, torchvision; print(torch.__version__, torchvision.__version__)"
ENV PYTHONPATH=/app/trainers/pytorch HYPERSWEEP_TRAINERS=pytorch HYPERSWEEP_PYTORCH_CMD="python -m hypersweep_trainer"
CMD ["npx", "tsx", "apps/worker/src/main.ts"]
