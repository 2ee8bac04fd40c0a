/**
 * Backups: the backup, restore, drill, stale-check (and uploads) scripts and their timers on the database host, or
 * on an app server against a remote PostgreSQL (RDS) (BK-1..4, BK-7, BK-8), with the off-site copy to S3 when a
 * bucket is given (BK-5).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, enableNow, lateValue, secretValue } from "../lib/render/apply-script";
import {
    BackupOptions,
    backupLibDir,
    backupUser,
    pgpassCredential,
    renderPgpass,
    renderBackupScript,
    renderBackupUnits,
    renderRestoreDrillScript,
    renderRestoreScript,
    renderStaleCheckScript,
    renderUploadsBackupScript,
} from "../lib/render/backup";
import { credentialDir } from "../lib/render/systemd";
import { aptInstall } from "./host-hardening";
import { remoteStep, renderFor } from "./remote-step";
import type { SshConnection } from "./vps";

export interface BackupsArgs {
    /** The database host. Required. */
    connection: pulumi.Input<SshConnection>;
    /** What to back up and how long to keep it (see BackupOptions; offsite is set from `offsite` below). Required. */
    backup: Omit<BackupOptions, "offsite" | "server">;
    /** Off-site copy (BK-5): bucket, key prefix, region and the writer's credentials file (secret). Default none. */
    offsite?: { bucket: pulumi.Input<string>; prefix: string; region: pulumi.Input<string>; credentials: pulumi.Input<string> };
    /**
     * A remote PostgreSQL (AWS RDS) instead of the one on the host: its address, port, admin role and password
     * (secret, delivered as a credential), and the CA file on the host its certificate is checked against.
     * Default: the local server.
     */
    server?: { host: pulumi.Input<string>; port: number; user: string; password: pulumi.Input<string>; caFile: string };
}

/** The step that installs scripts and timers. Pure. */
export function backupsScript(o: BackupOptions): ApplyScript {
    const lib = backupLibDir(o.appName);
    const root = o.root ?? `/var/backups/${o.appName}`;
    const owner = backupUser(o);
    const units = renderBackupUnits(o);
    const timers = Object.keys(units).filter((u) => u.endsWith(".timer"));
    const packages = [...(o.offsite ? ["awscli"] : []), ...(o.engine === "sqlite" ? ["sqlite3"] : []), ...(o.server ? ["postgresql-client"] : [])];
    return {
        name: "backups",
        prepare: [
            ...(packages.length ? aptInstall(packages) : []),
            ...(o.server ? [`id -u ${owner} >/dev/null 2>&1 || useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin ${owner}`] : []),
            `install -d -m 0700 -o ${owner} -g ${owner} ${root}`,
        ],
        files: [
            { path: `${lib}/backup`, content: renderBackupScript(o), mode: "0755" },
            { path: `${lib}/restore`, content: renderRestoreScript(o), mode: "0755" },
            { path: `${lib}/restore-drill`, content: renderRestoreDrillScript(o), mode: "0755" },
            { path: `${lib}/backup-stale-check`, content: renderStaleCheckScript(o), mode: "0755" },
            ...(o.uploadsDir ? [{ path: `${lib}/backup-uploads`, content: renderUploadsBackupScript(o), mode: "0755" }] : []),
            ...Object.entries(units).map(([name, content]) => ({ path: `/etc/systemd/system/${name}`, content })),
        ],
        validate: [`systemd-analyze verify ${Object.keys(units).filter((u) => !u.includes("@")).map((u) => `/etc/systemd/system/${u}`).join(" ")}`],
        activate: ["systemctl daemon-reload"],
        ensure: [enableNow(timers)],
    };
}

export class Backups extends pulumi.ComponentResource {
    public readonly steps: command.remote.Command[];

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:backup:Backups", name, args, opts);
        this.steps = [];
        const { offsite, server } = args;
        const dir = credentialDir(args.backup.appName);
        if (offsite || server) {
            // One secret step for the jobs' credentials: the off-site writer's key and the remote server's password
            // (a pgpass line for any host: the jobs name the host themselves).
            const credentials: ApplyScript = {
                name: "backup-credentials",
                files: [
                    ...(offsite ? [{ path: `${dir}/backup-aws`, content: secretValue("backup-aws"), mode: "0600" }] : []),
                    ...(server ? [{ path: `${dir}/${pgpassCredential}`, content: secretValue("backup-pgpass"), mode: "0600" }] : []),
                ],
            };
            const secrets = {
                ...(offsite ? { "backup-aws": offsite.credentials } : {}),
                ...(server ? { "backup-pgpass": pulumi.output(server.password).apply((password) => renderPgpass({ host: "*", port: server.port, user: server.user, password })) } : {}),
            };
            this.steps.push(remoteStep(`${name}-credentials`, { connection: args.connection, script: credentials, secrets }, { parent: this, dependsOn: opts?.dependsOn }));
        }
        const script = pulumi.all([offsite?.bucket, offsite?.region]).apply(([bucket, region]) =>
            renderFor(`${name}-timers`, () => backupsScript({
                ...args.backup,
                ...(offsite ? { offsite: { bucket: bucket!, region: region!, prefix: offsite.prefix } } : {}),
                ...(server ? { server: { host: lateValue("database-host"), port: server.port, user: server.user, caFile: server.caFile } } : {}),
            })),
        );
        const values = server ? { "database-host": server.host } : undefined;
        this.steps.push(remoteStep(`${name}-timers`, { connection: args.connection, script, values }, { parent: this, dependsOn: this.steps.length ? this.steps : opts?.dependsOn }));
        this.registerOutputs({});
    }
}
