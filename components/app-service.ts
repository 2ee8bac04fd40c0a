/**
 * AppService: the app on one server as a sandboxed systemd service (SVC-1..5) fed its secrets as credentials
 * (SVC-4), with a health check timer (SVC-6) and logrotate (LOG-1).
 *
 * The app's code is delivered by the app's own pipeline into /opt/<app>; until its start command exists the unit
 * is installed and enabled but not started, and the step says so.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { RollingRestart, rollingRestart } from "../lib/fleet";
import { ApplyScript, enableNow, secretValue } from "../lib/render/apply-script";
import { renderLogrotate } from "../lib/render/logrotate";
import {
    credentialDir,
    healthCheckScriptPath,
    renderAppUnit,
    renderHealthCheckScript,
    renderHealthCheckService,
    renderHealthCheckTimer,
} from "../lib/render/systemd";
import { remoteStep, renderFor } from "./remote-step";
import type { SshConnection } from "./vps";

export interface AppServiceArgs {
    /** How to reach the server. Required. */
    connection: pulumi.Input<SshConnection>;
    /** App name: unit, user and directories. Required. */
    appName: string;
    /** The app's command line; first word an absolute path. Required. */
    execStart: string;
    /** Port on 127.0.0.1 (NET-4). Required. */
    port: number;
    /** Health endpoint path. Default `/health`. */
    healthPath?: string;
    /** Secrets by credential name (lowercase, digits, -); each becomes a root-owned 0600 file loaded by systemd. Required. */
    credentials: Record<string, pulumi.Input<string>>;
    /** Non-secret environment (for example the database settings). Default: none (production mode variables are always set). */
    environment?: pulumi.Input<Record<string, string>>;
    /** Values the environment names by `lateValue` placeholder (for example the RDS address). Default: none. */
    values?: Record<string, pulumi.Input<string>>;
    /** Extra writable directories (for example the uploads directory). Default: none. */
    writablePaths?: string[];
    /** Units the app starts after. Default: none. */
    after?: string[];
    /**
     * Behind a load balancer: restart a running app drained, waiting until it is healthy (lib/fleet.ts). Default:
     * none, a plain try-restart.
     */
    rolling?: RollingRestart;
}

/** The lines that restart a running app after a change: drained behind a load balancer, else a plain try-restart. */
const restart = (a: Pick<AppServiceArgs, "appName" | "port" | "healthPath" | "rolling">) =>
    a.rolling ? rollingRestart({ unit: `${a.appName}.service`, port: a.port, healthPath: a.healthPath ?? "/health", rolling: a.rolling }) : [`systemctl try-restart ${a.appName}.service`];

/** The service step's script (no secrets in it). */
export function appServiceScript(a: Omit<AppServiceArgs, "environment"> & { environment?: Record<string, string> }): ApplyScript {
    const health = { appName: a.appName, port: a.port, path: a.healthPath };
    const unitDir = "/etc/systemd/system";
    const binary = a.execStart.split(/\s+/)[0];
    return {
        name: "service",
        prepare: [...(a.writablePaths ?? []).map((p) => `install -d -m 0750 -o ${a.appName} -g ${a.appName} ${p}`)],
        files: [
            {
                path: `${unitDir}/${a.appName}.service`,
                content: renderAppUnit({ appName: a.appName, execStart: a.execStart, port: a.port, credentials: Object.keys(a.credentials).sort(), environment: a.environment, writablePaths: a.writablePaths, after: a.after }),
            },
            { path: healthCheckScriptPath(a.appName), content: renderHealthCheckScript(health), mode: "0755" },
            { path: `${unitDir}/${a.appName}-healthcheck.service`, content: renderHealthCheckService(health) },
            { path: `${unitDir}/${a.appName}-healthcheck.timer`, content: renderHealthCheckTimer(health) },
            { path: `/etc/logrotate.d/${a.appName}`, content: renderLogrotate({ appName: a.appName }) },
        ],
        validate: [
            `systemd-analyze verify ${unitDir}/${a.appName}-healthcheck.service ${unitDir}/${a.appName}-healthcheck.timer`,
            `if [ -x ${binary} ]; then systemd-analyze verify ${unitDir}/${a.appName}.service; fi`,
            `if logrotate -d /etc/logrotate.d/${a.appName} 2>&1 | grep -q '^error:'; then false; fi`,
        ],
        activate: ["systemctl daemon-reload", ...restart(a)],
        ensure: [
            `systemctl is-enabled --quiet ${a.appName}.service || systemctl enable ${a.appName}.service >/dev/null 2>&1`,
            `if [ -x ${binary} ]; then`,
            `    systemctl start ${a.appName}.service`,
            `    ${enableNow([`${a.appName}-healthcheck.timer`])}`,
            "else",
            `    log "not started: ${binary} is not deployed yet"`,
            "fi",
        ],
    };
}

export class AppService extends pulumi.ComponentResource {
    public readonly steps: command.remote.Command[];

    constructor(name: string, args: AppServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:app:AppService", name, args, opts);
        const names = Object.keys(args.credentials).sort();
        const credentialScript: ApplyScript = {
            name: "credentials",
            files: names.map((n) => ({ path: `${credentialDir(args.appName)}/${n}`, content: secretValue(n), mode: "0600" })),
            // On the first deploy the unit does not exist yet; the service step starts it.
            activate: args.rolling ? restart(args) : [`if systemctl cat ${args.appName}.service >/dev/null 2>&1; then systemctl try-restart ${args.appName}.service; fi`],
        };
        // A component's dependsOn does not reach its children: the first step carries it.
        const credentials = remoteStep(`${name}-credentials`, { connection: args.connection, script: credentialScript, secrets: args.credentials }, { parent: this, dependsOn: opts?.dependsOn });
        const script = pulumi.output(args.environment ?? {}).apply((environment) => renderFor(`${name}-service`, () => appServiceScript({ ...args, environment })));
        const service = remoteStep(`${name}-service`, { connection: args.connection, script, values: args.values }, { parent: this, dependsOn: [credentials] });
        this.steps = [credentials, service];
        this.registerOutputs({});
    }
}
