#!/bin/sh
# One-shot setup of the compose stack's MinIO (the `minio-setup` service runs it with `mc`):
# buckets, and the notification that sends every new object of the input bucket to ClearCut.
# Trigger rules (`clearcut triggers add`) then decide which tenant and renditions each event gets.
set -eu
: "${MINIO_URL:=http://minio:9000}"
: "${INPUT_BUCKET:=catalog}"
: "${OUTPUT_BUCKET:=cutouts}"
: "${NOTIFY_ARN:=arn:minio:sqs::CLEARCUT:amqp}"

mc alias set clearcut "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "clearcut/$INPUT_BUCKET" "clearcut/$OUTPUT_BUCKET"
# `put` covers every s3:ObjectCreated:* event (PUT, POST, copy, multipart completion).
# Re-running it is harmless: mc refuses an identical rule, which is ignored here.
mc event add "clearcut/$INPUT_BUCKET" "$NOTIFY_ARN" --event put \
  || mc event ls "clearcut/$INPUT_BUCKET" "$NOTIFY_ARN" | grep -q ObjectCreated
mc event ls "clearcut/$INPUT_BUCKET"
