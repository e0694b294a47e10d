#!/bin/bash
# cd4ml: EC2 user data that brings a training machine's location worker up.
#
# cd4ml passes this script (with the {{...}} values filled in) when it launches
# an instance, from a bare AMI (locations.<name>.imageId) or from a launch
# template (unless the location says `userData: template`: then the template's
# own user data runs). For a template with its own user data, or a person's own
# instance, print the script with `cd4ml ec2 user-data --location <name>` and put
# it in the template or run it once on the machine as root: it installs a systemd
# unit, so the worker comes back on every start of the instance.
#
# One rendered script fits every launch: nothing in it is per instance. A
# launched instance's task queue names its instance id, which the script reads
# from the instance metadata service (IMDSv2: a token PUT first, then GETs with
# it), so a template can carry the script as it is.
#
# Needs on the AMI: curl, git, Node.js >= 20, Python 3.11 with venv, the AWS CLI
# if the Temporal API key comes from SSM, and (if the project names a training
# image) docker or podman with the NVIDIA toolkit.
#
# No secrets here: user data is readable by anyone allowed
# DescribeInstanceAttribute (and from the instance's metadata service). AWS
# credentials come from the instance profile. A Temporal Cloud API key goes in
# /etc/cd4ml/secrets.env (TEMPORAL_API_KEY=...); for mTLS, the instance's client
# certificate and key go in /etc/cd4ml/tls/client.pem and client.key. Either your
# AMI build writes them (root-only), or this script fetches them at boot from the
# SSM Parameter Store (SecureStrings) named below, with the instance role's
# ssm:GetParameter (and kms:Decrypt on its key). Only public TLS settings are
# here: on/off, the server name, the CA certificate.
set -euo pipefail

CD4ML_LOCATION='{{location}}'
# 'true' when cd4ml launches this instance per training (a template or AMI): its worker
# then polls a queue of its own, cd4ml-location-<location>-<instance id>.
PER_INSTANCE_QUEUE='{{perInstanceQueue}}'
TEMPORAL_ADDRESS='{{temporalAddress}}'
TEMPORAL_NAMESPACE='{{temporalNamespace}}'
# 'true' when Temporal is reached over TLS (a Temporal Cloud API key implies it); empty: the worker decides.
TEMPORAL_TLS='{{temporalTls}}'
# Where the cd4ml sources come from; empty when the AMI already has /opt/cd4ml.
CD4ML_SOURCE='{{cd4mlSource}}'
# An SSM parameter holding the Temporal API key; empty: none, or the AMI wrote secrets.env.
TEMPORAL_API_KEY_SSM_PARAMETER='{{temporalApiKeySsmParameter}}'
# 'true' when Temporal needs an API key: the boot stops here, saying so, when none is found.
TEMPORAL_API_KEY_EXPECTED='{{temporalApiKeyExpected}}'
# The name the server's certificate is for, when not the host of TEMPORAL_ADDRESS.
TEMPORAL_TLS_SERVER_NAME='{{temporalTlsServerName}}'
# The CA certificate (public) the server's certificate is checked against, base64 of its PEM.
TEMPORAL_TLS_SERVER_CA_BASE64='{{temporalTlsServerCaBase64}}'
# 'true' for mTLS: the instance's own client.pem and client.key in /etc/cd4ml/tls, from the AMI or these SSM parameters.
TEMPORAL_TLS_CLIENT_CERT='{{temporalTlsClientCert}}'
TEMPORAL_TLS_CLIENT_CERT_SSM_PARAMETER='{{temporalTlsClientCertSsmParameter}}'
TEMPORAL_TLS_CLIENT_KEY_SSM_PARAMETER='{{temporalTlsClientKeySsmParameter}}'

# For the tests only (cloud-init sets neither): a folder standing in for / and a
# fake metadata service. On an instance these are / and the link-local IMDS.
ROOT="${CD4ML_USER_DATA_ROOT:-}"
IMDS="${CD4ML_IMDS_ENDPOINT:-http://169.254.169.254}"
ETC="$ROOT/etc/cd4ml"
TLS_DIR="$ETC/tls"
APP="$ROOT/opt/cd4ml"
HOME_DIR="$ROOT/var/lib/cd4ml"
UNIT_DIR="$ROOT/etc/systemd/system"

install -d -m 0755 "$ETC" "$HOME_DIR" "$UNIT_DIR"
TASK_QUEUE="cd4ml-location-$CD4ML_LOCATION"
instance_id=""
if [ "$PER_INSTANCE_QUEUE" = true ]; then
  # Retried: early in boot the metadata service may not answer yet.
  imds_token="$(curl -sf --retry 10 --retry-connrefused --retry-delay 1 -X PUT "$IMDS/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')" ||
    { echo "cd4ml: no IMDSv2 token from $IMDS (is the metadata service off, or its hop limit too low?)" >&2; exit 1; }
  instance_id="$(curl -sf --retry 10 --retry-connrefused --retry-delay 1 -H "X-aws-ec2-metadata-token: $imds_token" "$IMDS/latest/meta-data/instance-id")" ||
    { echo "cd4ml: could not read the instance id from $IMDS" >&2; exit 1; }
  [[ "$instance_id" =~ ^i-[0-9a-f]+$ ]] || { echo "cd4ml: the metadata service gave '$instance_id', not an instance id" >&2; exit 1; }
  TASK_QUEUE="$TASK_QUEUE-$instance_id"
fi
# The worker's identity in the Web UI names the instance rather than its ip- host name.
WORKER_HOST="${instance_id:-$(hostname)}"

# A SecureString from SSM, read with the instance role; printed to stdout only, never echoed.
ssm_value() {
  aws ssm get-parameter --name "$1" --with-decryption --query Parameter.Value --output text ||
    { echo "cd4ml: could not read SSM parameter $1 (instance role needs ssm:GetParameter and kms:Decrypt)" >&2; return 1; }
}

ca_path="" cert_path="" key_path=""
if [ -n "$TEMPORAL_TLS_SERVER_CA_BASE64" ]; then
  install -d -m 0755 "$TLS_DIR"
  ca_path="$TLS_DIR/server-ca.pem"
  printf '%s' "$TEMPORAL_TLS_SERVER_CA_BASE64" | base64 -d >"$ca_path"
fi
if [ "$TEMPORAL_TLS_CLIENT_CERT" = true ]; then
  install -d -m 0700 "$TLS_DIR"
  cert_path="$TLS_DIR/client.pem" key_path="$TLS_DIR/client.key"
  if [ -n "$TEMPORAL_TLS_CLIENT_CERT_SSM_PARAMETER" ]; then
    (umask 077 && ssm_value "$TEMPORAL_TLS_CLIENT_CERT_SSM_PARAMETER" >"$cert_path.new") && mv "$cert_path.new" "$cert_path" || exit 1
  fi
  if [ -n "$TEMPORAL_TLS_CLIENT_KEY_SSM_PARAMETER" ]; then
    (umask 077 && ssm_value "$TEMPORAL_TLS_CLIENT_KEY_SSM_PARAMETER" >"$key_path.new") && mv "$key_path.new" "$key_path" || exit 1
  fi
  for f in "$cert_path" "$key_path"; do
    [ -s "$f" ] || { echo "cd4ml: Temporal asks for a client certificate (mTLS) and $f is missing: write the instance's certificate and key to $TLS_DIR/client.pem and client.key (root-only) in your AMI build, or store them as SSM SecureStrings (cd4ml ec2 user-data --tls-client-cert-ssm-parameter/--tls-client-key-ssm-parameter, or CD4ML_INSTANCE_TLS_CLIENT_CERT_SSM_PARAMETER/..._KEY_... on the control worker)" >&2; exit 1; }
  done
  chmod 0600 "$key_path"
fi

cat >"$ETC/location.env" <<ENV
CD4ML_LOCATION=$CD4ML_LOCATION
CD4ML_TASK_QUEUE=$TASK_QUEUE
CD4ML_WORKER_HOST=$WORKER_HOST
TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS
TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE
TEMPORAL_TLS=$TEMPORAL_TLS
TEMPORAL_TLS_SERVER_NAME=$TEMPORAL_TLS_SERVER_NAME
TEMPORAL_TLS_SERVER_CA_CERT_PATH=$ca_path
TEMPORAL_TLS_CLIENT_CERT_PATH=$cert_path
TEMPORAL_TLS_CLIENT_KEY_PATH=$key_path
CD4ML_HOME=$HOME_DIR
CD4ML_VENV=$APP/.cd4ml/venv
ENV

if [ -n "$TEMPORAL_API_KEY_SSM_PARAMETER" ]; then
  # Read with the instance role at every boot of the script; never echoed, only root can read the file.
  api_key="$(ssm_value "$TEMPORAL_API_KEY_SSM_PARAMETER")" || exit 1
  (umask 077 && printf 'TEMPORAL_API_KEY=%s\n' "$api_key" >"$ETC/secrets.env")
  unset api_key
fi
if [ "$TEMPORAL_API_KEY_EXPECTED" = true ] && ! grep -qs '^TEMPORAL_API_KEY=.' "$ETC/secrets.env"; then
  echo "cd4ml: Temporal needs an API key and $ETC/secrets.env has none: write TEMPORAL_API_KEY=... there (root-only) in your AMI build, or store it as an SSM SecureString (cd4ml ec2 user-data --api-key-ssm-parameter, or CD4ML_INSTANCE_API_KEY_SSM_PARAMETER on the control worker)" >&2
  exit 1
fi

if [ ! -f "$APP/scripts/bootstrap.sh" ] && [ -n "$CD4ML_SOURCE" ]; then
  git clone --depth 1 "$CD4ML_SOURCE" "$APP"
fi
[ -f "$APP/scripts/bootstrap.sh" ] || { echo "cd4ml: $APP is missing and no source was given" >&2; exit 1; }
# The persistent checkout lives in /var/lib/cd4ml/locations/<location>, on the
# instance's root volume, so a stopped and restarted instance pulls only what changed.
(cd "$APP" && bash scripts/bootstrap.sh)

cat >"$UNIT_DIR/cd4ml-location-worker.service" <<UNIT
[Unit]
Description=cd4ml location worker ($CD4ML_LOCATION)
After=network-online.target
Wants=network-online.target

[Service]
WorkingDirectory=$APP
EnvironmentFile=$ETC/location.env
EnvironmentFile=-$ETC/secrets.env
ExecStart=$APP/node_modules/.bin/tsx workers/src/location-worker.ts
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now cd4ml-location-worker.service
