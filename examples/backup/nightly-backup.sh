#!/bin/sh
# The nightly backup: a folder to a container, keeping what each night replaces or
# deletes. cron (blobsync-backup.cron) and systemd (../systemd/blobsync-backup.service)
# both run this one command.
#
# Settings and credentials come from a root-only environment file (chmod 600):
#   BLOBSYNC_SOURCE=/srv/data
#   BLOBSYNC_DESTINATION=https://myaccount.blob.core.windows.net/backup
#   BLOBSYNC_BACKUP_DIR=https://myaccount.blob.core.windows.net/backup-old
#   AZURE_STORAGE_KEY=...        (or a SAS in the URLs, or Entra ID: see the docs)
#
# Exit codes: 0 done; 75 skipped (the previous night's run still holds the lock: not a
# failure); otherwise blobsync's: 1 some files failed (the next night retries them),
# 2 configuration, 3 credentials, 7 refused by --max-changes (look at the source before
# anything is overwritten), 130 interrupted. It prints nothing when all is well (the
# summary is in the job record and the metrics file), so cron mails only when a person
# is needed.
set -u
env_file=${BLOBSYNC_ENV_FILE:-/etc/blobsync/backup.env}
blobsync=${BLOBSYNC:-/usr/local/bin/blobsync}
lock=${BLOBSYNC_LOCK:-/run/lock/blobsync-backup.lock}
metrics=${BLOBSYNC_METRICS:-/var/lib/prometheus/node-exporter/blobsync-backup.prom}

set -a
. "$env_file" || exit 2
set +a

exec 9>"$lock"
if ! flock -n 9; then
  # Skipped, not failed: systemd counts 75 as success (SuccessExitStatus=75).
  echo "blobsync backup skipped: another run holds the lock ($lock)"
  exit 75
fi

"$blobsync" sync "$BLOBSYNC_SOURCE" "$BLOBSYNC_DESTINATION" \
  --delete-destination=true --max-changes 5% \
  --backup-dir "$BLOBSYNC_BACKUP_DIR" --suffix "-$(date +%F)" \
  --metrics-file "$metrics" --quiet >/dev/null
status=$?
case $status in
  0) ;;
  1) echo "blobsync backup: some files failed (the next run retries them); see: blobsync jobs list" ;;
  7) echo "blobsync backup REFUSED: the night would change more than 5% of the backup; check $BLOBSYNC_SOURCE before allowing it" ;;
  *) echo "blobsync backup failed with exit code $status (2 configuration, 3 credentials); see: blobsync jobs list" ;;
esac
exit $status
