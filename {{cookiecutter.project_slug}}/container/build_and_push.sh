#!/usr/bin/env bash
# Build the project's container image and push it to Amazon ECR (sagemaker_mode: container).
#
# Usage: container/build_and_push.sh [tag]        (default tag: latest; run from anywhere)
# Needs docker and the AWS CLI v2 with credentials, and the project installed (pip install -e .): the image gets the
# engine's container-side helpers (sm_runtime, imported by train and serve) from that install, via PYTHON (default
# python3). The region comes from AWS_REGION, AWS_DEFAULT_REGION or the AWS CLI's configuration, else the project's
# region; the account from `aws sts get-caller-identity`. The repository (IMAGE_REPOSITORY, default
# {{ cookiecutter.project_slug | replace('_', '-') }}) is created when missing. Prints the image URI to put in config/project.yaml (container.image_uri).
set -euo pipefail
cd "$(dirname "$0")/.."

# sm_runtime is staged into the build context (build/ is git-ignored) for the build, where the Dockerfile copies it.
python="${PYTHON:-python3}"
staging="build/image"
if ! runtime="$("$python" -c 'import os, sm_runtime; print(os.path.dirname(sm_runtime.__file__))' 2>/dev/null)"; then
    echo "error: $python cannot import sm_runtime (the engine's helpers that train and serve import): run" \
        "'pip install -e .' in this project, or set PYTHON to the Python of the environment that has it" >&2
    exit 1
fi
rm -rf "$staging"
mkdir -p "$staging"
trap 'rm -rf "$staging"' EXIT
cp -R "$runtime" "$staging/sm_runtime"
find "$staging" -name __pycache__ -type d -prune -exec rm -rf {} +

repository="${IMAGE_REPOSITORY:-{{ cookiecutter.project_slug | replace('_', '-') }}}"
tag="${1:-latest}"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}"
region="${region:-{{ cookiecutter.aws_region }}}"
account="$(aws sts get-caller-identity --query Account --output text)"
case "$region" in
    cn-*) domain="amazonaws.com.cn" ;;
    *) domain="amazonaws.com" ;;
esac
registry="${account}.dkr.ecr.${region}.${domain}"
image="${registry}/${repository}:${tag}"

if ! aws ecr describe-repositories --region "$region" --repository-names "$repository" >/dev/null 2>&1; then
    echo "creating the ECR repository $repository in $region" >&2
    aws ecr create-repository --region "$region" --repository-name "$repository" \
        --image-scanning-configuration scanOnPush=true >/dev/null
fi
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry" >&2
docker build --platform linux/amd64 -f container/Dockerfile -t "${repository}:${tag}" . >&2
docker tag "${repository}:${tag}" "$image"
docker push "$image" >&2
echo "$image"
