/**
 * Backups: the backup, restore, drill, stale-check (and uploads) scripts and their timers on the database host
 * (BK-1..4, BK-7, BK-8), with the off-site copy to S3 when a bucket is given (BK-5).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, enableNow } from "../lib/render/apply-script";
import {
    BackupOptions,
    backupLibDir,
    renderBackupScript,
    renderBackupUnits,
    renderRestoreDrillScript,
    renderRestoreScript,
    renderStaleCheckScript,
    renderUploadsBackupScript,
} from "../lib/render/backup";
import { credentialDir } from "../lib/render/systemd";
import { aptInstall } from "./host-hardening";
import { remoteStep } from "./remote-step";
import type { SshConnection } from "./vps";

export interface BackupsArgs {
    /** The database host. Required. */
    connection: pulumi.Input<SshConnection>;
    /** What to back up and how long to keep it (see BackupOptions; offsite is set from `offsite` below). Required. */
    backup: Omit<BackupOptions, "offsite">;
    /** Off-site copy (BK-5): bucket, key prefix, region and the writer's credentials file (secret). Default none. */
    offsite?: { bucket: pulumi.Input<string>; prefix: string; region: pulumi.Input<string>; credentials: pulumi.Input<string> };
}

/** The step that installs scripts and timers. Pure. */
export function backupsScript(o: BackupOptions): ApplyScript {
    const lib = backupLibDir(o.appName);
    const root = o.root ?? `/var/backups/${o.appName}`;
    const owner = o.engine === "postgres" ? "postgres" : o.appName;
    const units = renderBackupUnits(o);
    const timers = Object.keys(units).filter((u) => u.endsWith(".timer"));
    const packages = [...(o.offsite ? ["awscli"] : []), ...(o.engine === "sqlite" ? ["sqlite3"] : [])];
    return {
        name: "backups",
        prepare: [...(packages.length ? aptInstall(packages) : []), `install -d -m 0700 -o ${owner} -g ${owner} ${root}`],
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
        if (args.offsite) {
            const credentials: pulumi.Output<ApplyScript> = pulumi.output(args.offsite.credentials).apply((content) => ({
                name: "backup-credentials",
                files: [{ path: `${credentialDir(args.backup.appName)}/backup-aws`, content, mode: "0600" }],
            }));
            this.steps.push(remoteStep(`${name}-credentials`, { connection: args.connection, script: credentials, secret: true }, { parent: this, dependsOn: opts?.dependsOn }));
        }
        const offsite = args.offsite;
        const script = offsite
            ? pulumi.all([offsite.bucket, offsite.region]).apply(([bucket, region]) => backupsScript({ ...args.backup, offsite: { bucket, region, prefix: offsite.prefix } }))
            : pulumi.output(backupsScript(args.backup));
        this.steps.push(remoteStep(`${name}-timers`, { connection: args.connection, script }, { parent: this, dependsOn: this.steps.length ? this.steps : opts?.dependsOn }));
        this.registerOutputs({});
    }
}
