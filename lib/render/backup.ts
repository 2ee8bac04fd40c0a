/**
 * Backups and recovery (BK-1..8): the backup script (PostgreSQL custom-format dump, or SQLite online backup),
 * verified before it gets its final name, checksummed, rotated by age and optionally copied off-site; the
 * restore script; the weekly restore drill; the stale-backup check; the uploads backup; and their systemd units.
 *
 * Scripts log to stdout/stderr (the journal, under systemd) and exit non-zero on any failure, leaving no file
 * under a final name and older backups untouched. PostgreSQL is reached over the local socket as postgres (peer
 * authentication), or, with `server` (AWS RDS), over TCP with TLS verified against the server's CA, as its admin
 * role with the password from the `backup-pgpass` credential.
 */
import { shq } from "./apply-script";
import { credentialDir } from "./systemd";
import { BACKUP_STALE_HOURS } from "../controls";

export type BackupOptions = {
    appName: string;
    engine: "postgres" | "sqlite";
    /** PostgreSQL database (engine postgres). */
    database?: string;
    /** Role that owns restored objects (engine postgres). */
    role?: string;
    /** SQLite database file (engine sqlite). */
    sqlitePath?: string;
    /** Backup root. Default `/var/backups/<app>`. */
    root?: string;
    /** Days daily / weekly / uploads backups are kept (BK-2). */
    retention: { dailyDays: number; weeklyDays: number; uploadsDays: number };
    /** Uploads directory to back up as files (BK-2). Default none. */
    uploadsDir?: string;
    /** Off-site copy (BK-5): bucket and key prefix; credentials arrive as the `backup-aws` credential. */
    offsite?: { bucket: string; prefix: string; region: string };
    /** Hours after which the newest daily backup is stale (BK-8). Default {@link BACKUP_STALE_HOURS}. */
    staleAfterHours?: number;
    /** Local time `HH:MM` of the daily backup; the other jobs follow it (see {@link backupSchedule}). Default `02:00`. */
    time?: string;
    /** SQL that must return one row with `t` on a restored database (the drill's sanity query). Default: none. */
    sanitySql?: string;
    /**
     * PostgreSQL reached over TCP (engine postgres on AWS RDS) instead of the local socket: host, port, the admin
     * role that dumps, creates the scratch database and restores (it must be a member of `role`), and the CA file
     * the server's certificate is checked against (sslmode verify-full). The password arrives as the
     * `backup-pgpass` credential, a pgpass line. The jobs then run as the system user `<app>-backup`.
     * Default: the local socket as postgres.
     */
    server?: { host: string; port: number; user: string; caFile: string };
};

/** The user the backup jobs run as: postgres on the database host, `<app>-backup` against a remote server, the app for SQLite. */
export const backupUser = (o: Pick<BackupOptions, "appName" | "engine" | "server">) => (o.engine === "sqlite" ? o.appName : o.server ? `${o.appName}-backup` : "postgres");

/** The credential that carries the remote server's pgpass line. */
export const pgpassCredential = "backup-pgpass";

/** A pgpass line for host, port, any database, user and password, with `:` and `\` escaped as libpq expects. */
export function renderPgpass(s: { host: string; port: number; user: string; password: string }): string {
    const esc = (v: string) => v.replace(/[\\:]/g, (c) => `\\${c}`);
    if (/[\r\n]/.test(s.password)) throw new Error("backup: a pgpass password cannot contain a line break");
    return `${esc(s.host)}:${s.port}:*:${esc(s.user)}:${esc(s.password)}\n`;
}

export const backupLibDir = (appName: string) => `/usr/local/lib/${appName}`;

function check(o: BackupOptions): void {
    const r = o.retention;
    for (const [k, v] of Object.entries(r)) if (!Number.isInteger(v) || v < 1 || v > 3650) throw new Error(`backup: retention ${k} ${v} must be 1-3650 days`);
    if (o.engine === "postgres" && !(o.database && o.role)) throw new Error("backup: engine postgres needs database and role");
    if (o.engine === "sqlite" && !o.sqlitePath?.startsWith("/")) throw new Error("backup: engine sqlite needs an absolute sqlitePath");
    if (o.offsite && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.offsite.bucket)) throw new Error(`backup: bucket ${JSON.stringify(o.offsite.bucket)} is not a valid S3 bucket name`);
    if (o.server) {
        if (o.engine !== "postgres") throw new Error("backup: server is for engine postgres");
        // A host name, or the placeholder of one the host fills in (lib/render/apply-script.ts `lateValue`).
        if (!/^[A-Za-z0-9.-]+$/.test(o.server.host) && !/^@@value:[a-z][a-z0-9-]*@@$/.test(o.server.host)) throw new Error(`backup: server host ${JSON.stringify(o.server.host)} is not a host name`);
        if (!Number.isInteger(o.server.port) || o.server.port < 1 || o.server.port > 65535) throw new Error(`backup: server port ${o.server.port} must be 1-65535`);
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.server.user)) throw new Error(`backup: server user ${JSON.stringify(o.server.user)} must be a lowercase SQL identifier`);
        if (!o.server.caFile.startsWith("/")) throw new Error("backup: server caFile must be an absolute path");
    }
}

/**
 * libpq settings for a remote server: TCP, TLS with the certificate checked against the CA and the host name,
 * the password from the credential (under systemd) or from the file it is loaded from (run by hand as root).
 * Fixed values, so that a stray PG* variable in an admin's shell cannot point a restore elsewhere.
 */
function libpq(o: BackupOptions): string[] {
    if (!o.server) return [];
    const s = o.server;
    return [
        `export PGHOST=${shq(s.host)} PGPORT=${s.port} PGUSER=${shq(s.user)} PGSSLMODE=verify-full PGSSLROOTCERT=${shq(s.caFile)}`,
        `export PGPASSFILE="\${CREDENTIALS_DIRECTORY:-${credentialDir(o.appName)}}/${pgpassCredential}"`,
    ];
}

const header = (what: string) => ["#!/bin/bash", `# Managed by Pulumi: ${what}`, "set -euo pipefail", "umask 077"];

const backupRoot = (o: BackupOptions) => `root=\${BACKUP_ROOT:-${shq(o.root ?? `/var/backups/${o.appName}`)}}`;

/**
 * Lines shared by the backup writers: the target directory, log/fail helpers, a final name with a UTC time
 * stamp, and a temporary file beside it that is removed on any exit.
 */
function writerPreamble(o: BackupOptions, label: string, subdir: string, fileName: string, cleanup: string[]): string[] {
    return [
        backupRoot(o),
        `dir="$root/${subdir}"`,
        `log() { echo "backup[${label}]: $*"; }`,
        `fail() { echo "backup[${label}]: FAILED: $*" >&2; exit 1; }`,
        'mkdir -p "$dir" || fail "cannot create $dir"',
        `name="${fileName}"`,
        'tmp=$(mktemp "$dir/.partial.XXXXXX") || fail "cannot create a file in $dir"',
        `trap 'rm -f ${cleanup.map((c) => `"${c}"`).join(" ")}' EXIT`,
    ];
}

/** The pattern of this engine's backup files. */
const pattern = (o: BackupOptions) => (o.engine === "postgres" ? `${o.database}-*.dump` : `${o.appName}-*.db.gz`);

/** Lines that copy files to `s3://<bucket>/<prefix>/<subdir>/` with the writer's credential (BK-5); none without off-site. */
function offsiteCopy(o: BackupOptions, subdir: string, files: string[]): string[] {
    if (!o.offsite) return [];
    const aws = `aws --region ${shq(o.offsite.region)} \${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} s3 cp --only-show-errors --sse AES256`;
    return [
        'if [ -n "${CREDENTIALS_DIRECTORY:-}" ] && [ -r "$CREDENTIALS_DIRECTORY/backup-aws" ]; then',
        '    export AWS_SHARED_CREDENTIALS_FILE="$CREDENTIALS_DIRECTORY/backup-aws"',
        "fi",
        `dest="s3://${o.offsite.bucket}/${o.offsite.prefix.replace(/\/+$/, "")}/${subdir}"`,
        ...files.map((f) => `${aws} ${f} "$dest/$(basename ${f})" || fail "off-site copy to $dest/$name failed (the local backup is kept)"`),
        'log "copied off-site to $dest/$name"',
    ];
}

/** `backup daily|weekly`. */
export function renderBackupScript(o: BackupOptions): string {
    check(o);
    const prefix = o.engine === "postgres" ? o.database! : o.appName;
    const ext = o.engine === "postgres" ? "dump" : "db.gz";
    const dump =
        o.engine === "postgres"
            ? [
                  `pg_dump --format=custom --compress=6 --dbname=${shq(o.database!)} --file="$tmp" || fail "pg_dump of ${o.database} failed"`,
                  'pg_restore --list "$tmp" >/dev/null || fail "verification failed: pg_restore cannot read the dump"',
              ]
            : [
                  `sqlite3 ${shq(o.sqlitePath!)} ".backup '$tmp.db'" || fail "sqlite online backup of ${o.sqlitePath} failed"`,
                  'check=$(sqlite3 "$tmp.db" "PRAGMA integrity_check;") || fail "integrity check could not run"',
                  '[ "$check" = ok ] || fail "integrity check failed: $check"',
                  'gzip -6 -c "$tmp.db" > "$tmp" || fail "compression failed"',
                  'rm -f "$tmp.db"',
                  'gzip -t "$tmp" || fail "verification failed: gzip -t"',
              ];
    const offsite = offsiteCopy(o, "$tier", [`"$dir/$name"`, `"$dir/$name.sha256"`]);
    return [
        ...header(`${o.engine} backup with verification, checksum, rotation${o.offsite ? " and off-site copy" : ""} (BK-1..5).`),
        ...libpq(o),
        'tier=${1:-}',
        "case $tier in",
        `    daily) keep_days=${o.retention.dailyDays} ;;`,
        `    weekly) keep_days=${o.retention.weeklyDays} ;;`,
        '    *) echo "usage: backup daily|weekly" >&2; exit 2 ;;',
        "esac",
        ...writerPreamble(o, "$tier", "$tier", `${prefix}-$(date -u +%Y%m%dT%H%M%SZ).${ext}`, ["$tmp", "$tmp.db", "$tmp.sha256"]),
        'log "starting"',
        ...dump,
        // OpenSSL's SHA-256 uses the CPU's SHA instructions: several times faster than coreutils' sha256sum over a
        // large dump, and the same digest (the .sha256 file is still checked with sha256sum --check).
        'sum=$(openssl dgst -sha256 -r "$tmp" | cut -d" " -f1)',
        'echo "$sum  $name" > "$tmp.sha256" || fail "cannot write the checksum"',
        'sync "$tmp" "$tmp.sha256" || fail "sync failed"',
        'mv "$tmp" "$dir/$name" || fail "cannot move the backup into place"',
        'mv "$tmp.sha256" "$dir/$name.sha256" || fail "cannot move the checksum into place"',
        'log "wrote $dir/$name ($(stat -c %s "$dir/$name") bytes, sha256 $sum)"',
        ...offsite,
        "# Rotation only after a good new backup: never leave the tier without one.",
        "removed=0",
        `while IFS= read -r -d '' old; do rm -f "$old" "$old.sha256"; removed=$((removed + 1)); done < <(find "$dir" -maxdepth 1 -name ${shq(pattern(o))} -mmin +$((keep_days * 1440)) -print0)`,
        'log "done; removed $removed backups older than $keep_days days"',
        "",
    ].join("\n");
}

/** `backup-uploads`: tar.gz of the uploads directory, verified, rotated (BK-2). */
export function renderUploadsBackupScript(o: BackupOptions): string {
    check(o);
    if (!o.uploadsDir) throw new Error("backup: no uploadsDir to back up");
    return [
        ...header("file backup of the uploads directory (BK-2, BK-4)."),
        ...writerPreamble(o, "uploads", "uploads", "uploads-$(date -u +%Y%m%dT%H%M%SZ).tar.gz", ["$tmp"]),
        `tar -czf "$tmp" -C ${shq(o.uploadsDir)} . || fail "tar of ${o.uploadsDir} failed"`,
        'gzip -t "$tmp" || fail "verification failed: gzip -t"',
        'sync "$tmp" || fail "sync failed"',
        'mv "$tmp" "$dir/$name" || fail "cannot move the backup into place"',
        'log "wrote $dir/$name ($(stat -c %s "$dir/$name") bytes)"',
        ...offsiteCopy(o, "uploads", [`"$dir/$name"`]),
        `find "$dir" -maxdepth 1 -name 'uploads-*.tar.gz' -mmin +${o.retention.uploadsDays * 1440} -delete`,
        "",
    ].join("\n");
}

/** Shell functions shared by restore and drill: restore a dump into a database and check it. */
function restoreFunctions(o: BackupOptions): string[] {
    if (o.engine === "sqlite") {
        return [
            "# restore_into FILE TARGET: decompress and check a backup into TARGET",
            "restore_into() {",
            '    gzip -dc "$1" > "$2.partial" || { rm -f "$2.partial"; fail "cannot decompress $1"; }',
            '    local check',
            '    check=$(sqlite3 "$2.partial" "PRAGMA integrity_check;") || { rm -f "$2.partial"; fail "integrity check could not run"; }',
            '    [ "$check" = ok ] || { rm -f "$2.partial"; fail "integrity check failed: $check"; }',
            '    mv "$2.partial" "$2"',
            "}",
        ];
    }
    const sanity = o.sanitySql
        ? [
              `    ok=$(as_pg psql -X -At -v ON_ERROR_STOP=1 --dbname="$2" -c ${shq(o.sanitySql)}) || fail "sanity query failed on $2"`,
              '    [ "$ok" = t ] || fail "sanity query on $2 returned ${ok:-nothing}, expected t"',
          ]
        : [];
    const asPg = o.server
        ? ["# Database commands go to the remote server as its admin role (libpq settings above).", 'as_pg() { "$@"; }']
        : ["# Database commands run as postgres (peer authentication); run as root, the script switches for them.", 'if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi'];
    return [
        ...libpq(o),
        ...asPg,
        "# restore_into DUMP DATABASE: restore into a new database owned by the app role and check it",
        "restore_into() {",
        '    as_pg psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -c "CREATE DATABASE \\"$2\\" OWNER ' + o.role + '" || fail "cannot create database $2"',
        `    as_pg pg_restore --exit-on-error --no-owner --role=${shq(o.role!)} --dbname="$2" "$1" || fail "pg_restore of $1 into $2 failed"`,
        "    local want got",
        "    want=$(as_pg pg_restore --list \"$1\" | grep -c ' TABLE public ' || true)",
        "    got=$(as_pg psql -X -At --dbname=\"$2\" -c \"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'\") || fail \"cannot count tables in $2\"",
        '    [ "$want" = "$got" ] || fail "restored $got tables into $2, the dump has $want"',
        ...sanity,
        '    log "restored $1 into $2: $got tables"',
        "}",
    ];
}

/** `restore FILE`: stop the app, restore (keeping the old database aside), verify, start the app (BK-7). */
export function renderRestoreScript(o: BackupOptions): string {
    check(o);
    const unit = `${o.appName}.service`;
    const swap =
        o.engine === "postgres"
            ? [
                  `db=${shq(o.database!)}`,
                  'aside="${db}_before_restore_$(date -u +%Y%m%d%H%M%S)_$$"',
                  "# A restore that failed earlier may have left its half-restored database behind.",
                  'as_pg psql -X -q --dbname=postgres -c "SET client_min_messages TO warning" -c "DROP DATABASE IF EXISTS \\"${db}_restoring\\"" || fail "cannot drop ${db}_restoring"',
                  'restore_into "$file" "${db}_restoring"',
                  'as_pg psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -v db="$db" -v aside="$aside" -v restoring="${db}_restoring" <<\'SQL\' || fail "cannot swap the restored database in"',
                  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid();",
                  'ALTER DATABASE :"db" RENAME TO :"aside";',
                  'ALTER DATABASE :"restoring" RENAME TO :"db";',
                  "SQL",
                  'log "restored; the previous database is kept as $aside"',
              ]
            : [
                  `db=${shq(o.sqlitePath!)}`,
                  'restore_into "$file" "$db.restoring"',
                  '[ -e "$db" ] && cp -p "$db" "$db.before-restore-$(date -u +%Y%m%d%H%M%S)"',
                  'mv "$db.restoring" "$db"',
                  'log "restored; the previous file is kept next to it"',
              ];
    return [
        ...header("restore a backup: stop the app, restore, verify, start the app (BK-7)."),
        'file=${1:-}',
        'if [ -z "$file" ] || [ ! -r "$file" ]; then echo "usage: restore BACKUP_FILE" >&2; exit 2; fi',
        'log() { echo "restore: $*"; }',
        'fail() { echo "restore: FAILED: $*" >&2; exit 1; }',
        ...restoreFunctions(o),
        'if [ -r "$file.sha256" ]; then',
        '    (cd "$(dirname "$file")" && sha256sum --check --status "$(basename "$file").sha256") || fail "checksum mismatch for $file"',
        "fi",
        "# Whatever happens from here on, the app is started again on the way out.",
        `start_app() { systemctl start ${unit} || echo "restore: FAILED: the app did not start" >&2; }`,
        "trap start_app EXIT",
        `systemctl stop ${unit} || true`,
        ...swap,
        "",
    ].join("\n");
}

/** `restore-drill`: restore the newest backup into a scratch database, check it, drop it (BK-7). */
export function renderRestoreDrillScript(o: BackupOptions): string {
    check(o);
    const scratch =
        o.engine === "postgres"
            ? [
                  `scratch=${shq(`${o.database}_restore_drill`)}`,
                  'drop_scratch() { as_pg psql -X -q --dbname=postgres -c "DROP DATABASE IF EXISTS \\"$scratch\\"" >/dev/null 2>&1 || true; }',
                  "drop_scratch",
                  "trap drop_scratch EXIT",
                  'restore_into "$newest" "$scratch"',
              ]
            : ['scratch=$(mktemp --suffix=.db)', "trap 'rm -f \"$scratch\" \"$scratch.partial\"' EXIT", 'restore_into "$newest" "$scratch"'];
    return [
        ...header("weekly restore drill: the newest backup must restore and pass its checks (BK-7)."),
        backupRoot(o),
        'log() { echo "restore-drill: $*"; }',
        'fail() { echo "restore-drill: FAILED: $*" >&2; exit 1; }',
        ...restoreFunctions(o),
        "# A tier without backups yet is not an error here; no backup at all is.",
        `newest=$({ find "$root/daily" "$root/weekly" -maxdepth 1 -name ${shq(pattern(o))} -printf '%T@ %p\\n' 2>/dev/null || true; } | sort -n | tail -n 1 | cut -d' ' -f2-)`,
        '[ -n "$newest" ] || fail "no backup found under $root"',
        'log "drilling with $newest"',
        ...scratch,
        'log "passed"',
        "",
    ].join("\n");
}

/** `backup-stale-check`: fails when the newest daily backup is older than the limit (BK-8). */
export function renderStaleCheckScript(o: BackupOptions): string {
    check(o);
    const hours = o.staleAfterHours ?? BACKUP_STALE_HOURS;
    return [
        ...header(`fail when the newest daily backup is older than ${hours} hours (BK-8).`),
        backupRoot(o),
        `newest=$({ find "$root/daily" -maxdepth 1 -name ${shq(pattern(o))} -printf '%T@\\n' 2>/dev/null || true; } | sort -n | tail -n 1)`,
        'if [ -z "$newest" ]; then echo "backup-stale-check: FAILED: no daily backup in $root/daily" >&2; exit 1; fi',
        'age=$(( $(date +%s) - ${newest%.*} ))',
        `if [ "$age" -gt ${hours * 3600} ]; then`,
        `    echo "backup-stale-check: FAILED: the newest daily backup is $((age / 3600)) hours old (limit ${hours})" >&2`,
        "    exit 1",
        "fi",
        'echo "backup-stale-check: newest daily backup is $((age / 3600)) hours old"',
        "",
    ].join("\n");
}

export type UnitFiles = Record<string, string>;

/** The daily backup's local time when the stack sets none (BK-1: "a fixed hour, default 02:00"). */
export const DEFAULT_BACKUP_TIME = "02:00";

/** `HH:MM`, 00:00 to 23:59. */
export const BACKUP_TIME = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/**
 * The jobs' calendar (systemd OnCalendar, the host's local time) from the daily backup's time: the uploads 30
 * minutes later, the weekly backup on Sundays an hour later and the restore drill on Sundays three hours later, so
 * the drill finds that week's backup. 02:00 gives daily 02:00, uploads 02:30, weekly Sunday 03:00, drill Sunday 05:00.
 */
export function backupSchedule(time: string = DEFAULT_BACKUP_TIME): { daily: string; uploads: string; weekly: string; drill: string } {
    const m = BACKUP_TIME.exec(time);
    if (!m) throw new Error(`backup: time ${JSON.stringify(time)} is not HH:MM (00:00-23:59)`);
    const at = (minutes: number) => {
        const t = (Number(m[1]) * 60 + Number(m[2]) + minutes) % 1440;
        return `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}:00`;
    };
    return { daily: `*-*-* ${at(0)}`, uploads: `*-*-* ${at(30)}`, weekly: `Sun *-*-* ${at(60)}`, drill: `Sun *-*-* ${at(180)}` };
}

/** The services and timers on {@link backupSchedule}'s calendar, and the stale check hourly (BK-1). */
export function renderBackupUnits(o: BackupOptions): UnitFiles {
    check(o);
    const at = backupSchedule(o.time);
    const lib = backupLibDir(o.appName);
    const user = backupUser(o);
    const root = o.root ?? `/var/backups/${o.appName}`;
    // A local server is started before the jobs; a remote one needs the network.
    const order = o.engine !== "postgres" ? [] : o.server ? ["Wants=network-online.target", "After=network-online.target"] : ["After=postgresql.service"];
    const hardening = ["NoNewPrivileges=yes", "ProtectSystem=strict", `ReadWritePaths=${root}${o.engine === "sqlite" ? ` ${o.sqlitePath!.replace(/\/[^/]+$/, "")}` : ""}`, "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes"];
    const service = (description: string, exec: string, extra: string[] = []) =>
        ["# Managed by Pulumi (BK-1..8).", "[Unit]", `Description=${description}`, ...order, "", "[Service]", "Type=oneshot", `User=${user}`, `Group=${user}`, `ExecStart=${exec}`, ...extra, ...hardening, ""].join("\n");
    const timer = (description: string, unit: string, onCalendar: string) =>
        ["# Managed by Pulumi (BK-1).", "[Unit]", `Description=${description}`, "", "[Timer]", `OnCalendar=${onCalendar}`, "Persistent=true", `Unit=${unit}`, "", "[Install]", "WantedBy=timers.target", ""].join("\n");
    const credential = (name: string) => `LoadCredential=${name}:${credentialDir(o.appName)}/${name}`;
    const pgpass = o.server ? [credential(pgpassCredential)] : [];
    const units: UnitFiles = {
        [`${o.appName}-backup@.service`]: service(`${o.appName} %i backup`, `${lib}/backup %i`, [...pgpass, ...(o.offsite ? [credential("backup-aws")] : [])]),
        [`${o.appName}-backup-daily.timer`]: timer(`${o.appName} daily backup`, `${o.appName}-backup@daily.service`, at.daily),
        [`${o.appName}-backup-weekly.timer`]: timer(`${o.appName} weekly backup`, `${o.appName}-backup@weekly.service`, at.weekly),
        [`${o.appName}-restore-drill.service`]: service(`${o.appName} restore drill`, `${lib}/restore-drill`, pgpass),
        [`${o.appName}-restore-drill.timer`]: timer(`${o.appName} weekly restore drill`, `${o.appName}-restore-drill.service`, at.drill),
        [`${o.appName}-backup-stale-check.service`]: service(`${o.appName} stale backup check`, `${lib}/backup-stale-check`),
        [`${o.appName}-backup-stale-check.timer`]: timer(`${o.appName} stale backup check`, `${o.appName}-backup-stale-check.service`, "hourly"),
    };
    if (o.uploadsDir) {
        units[`${o.appName}-backup-uploads.service`] = service(`${o.appName} uploads backup`, `${lib}/backup-uploads`).replace(`User=${user}\nGroup=${user}`, "User=root\nGroup=root");
        units[`${o.appName}-backup-uploads.timer`] = timer(`${o.appName} uploads backup`, `${o.appName}-backup-uploads.service`, at.uploads);
    }
    return units;
}
