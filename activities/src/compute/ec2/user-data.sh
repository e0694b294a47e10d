#!/bin/bash
# cd4ml: EC2 user data that brings a training machine's location worker up.
#
# cd4ml passes this script (with the {{...}} values filled in) when it launches
# an instance from a bare AMI (locations.<name>.imageId). For a launch template
# or a person's own instance, put the rendered script in the template's user
# data or run it once by hand: it installs a systemd unit, so the worker comes
# back on every start of the instance.
#
# Needs on the AMI: git, Node.js >= 20, Python 3.11 with venv, and (if the
# project names a training image) docker or podman with the NVIDIA toolkit.
#
# No secrets here: user data is readable by anyone allowed
# DescribeInstanceAttribute. AWS credentials come from the instance profile;
# a Temporal Cloud API key goes in /etc/cd4ml/secrets.env (TEMPORAL_API_KEY=...),
# written by your AMI build or fetched from SSM Parameter Store / Secrets Manager.
set -euo pipefail

CD4ML_LOCATION='{{location}}'
# 'true' when cd4ml launches this instance per training (a template or AMI): its worker
# then polls a queue of its own, cd4ml-location-<location>-<instance id>.
PER_INSTANCE_QUEUE='{{perInstanceQueue}}'
TEMPORAL_ADDRESS='{{temporalAddress}}'
TEMPORAL_NAMESPACE='{{temporalNamespace}}'
# Where the cd4ml sources come from; empty when the AMI already has /opt/cd4ml.
CD4ML_SOURCE='{{cd4mlSource}}'

install -d -m 0755 /etc/cd4ml /var/lib/cd4ml
TASK_QUEUE="cd4ml-location-$CD4ML_LOCATION"
if [ "$PER_INSTANCE_QUEUE" = true ]; then
  imds_token="$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')"
  instance_id="$(curl -sf -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/instance-id)"
  TASK_QUEUE="$TASK_QUEUE-$instance_id"
fi
# The worker's identity in the Web UI names the instance rather than its ip- host name.
WORKER_HOST="${instance_id:-$(hostname)}"

cat >/etc/cd4ml/location.env <<ENV
CD4ML_LOCATION=$CD4ML_LOCATION
CD4ML_TASK_QUEUE=$TASK_QUEUE
CD4ML_WORKER_HOST=$WORKER_HOST
TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS
TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE
CD4ML_HOME=/var/lib/cd4ml
CD4ML_VENV=/opt/cd4ml/.cd4ml/venv
ENV

if [ ! -d /opt/cd4ml/.git ] && [ -n "$CD4ML_SOURCE" ]; then
  git clone --depth 1 "$CD4ML_SOURCE" /opt/cd4ml
fi
[ -d /opt/cd4ml ] || { echo "cd4ml: /opt/cd4ml is missing and no source was given" >&2; exit 1; }
# The persistent checkout lives in /var/lib/cd4ml/locations/<location>, on the
# instance's root volume, so a stopped and restarted instance pulls only what changed.
(cd /opt/cd4ml && bash scripts/bootstrap.sh)

cat >/etc/systemd/system/cd4ml-location-worker.service <<UNIT
[Unit]
Description=cd4ml location worker ($CD4ML_LOCATION)
After=network-online.target
Wants=network-online.target

[Service]
WorkingDirectory=/opt/cd4ml
EnvironmentFile=/etc/cd4ml/location.env
EnvironmentFile=-/etc/cd4ml/secrets.env
ExecStart=/opt/cd4ml/node_modules/.bin/tsx workers/src/location-worker.ts
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now cd4ml-location-worker.service
