/**
 * The app's systemd units (SVC-1..6): the service, hardened and fed its secrets as credentials, and a health
 * check service + timer that restarts it when its health endpoint stops answering.
 */

export type AppUnitOptions = {
    /** Unit, user and directory name. */
    appName: string;
    /** Command line of the app; its first word must be an absolute path. It must listen on 127.0.0.1 (NET-4). */
    execStart: string;
    /** Port the app listens on at 127.0.0.1, passed as PORT and BIND. */
    port: number;
    /** Working directory. Default `/opt/<app>`. */
    workingDirectory?: string;
    /** Secret names; each is loaded from `/etc/<app>/credentials/<name>` (root-owned 0600) as a credential (SVC-4). */
    credentials: string[];
    /** Non-secret environment. Production mode variables are always set (SVC-5). */
    environment?: Record<string, string>;
    /** Directories the app may write besides its state and log directories (ReadWritePaths). */
    writablePaths?: string[];
    /** Units to start after (e.g. postgresql.service). */
    after?: string[];
};

export type HealthCheckOptions = {
    appName: string;
    port: number;
    /** Health endpoint path. Default `/health`. */
    path?: string;
    /** Seconds between checks. Default 60. */
    intervalSeconds?: number;
};

/** Production mode, whatever the framework (SVC-5). */
export const PRODUCTION_ENVIRONMENT: Readonly<Record<string, string>> = {
    APP_ENV: "production",
    NODE_ENV: "production",
    FLASK_ENV: "production",
    FLASK_DEBUG: "0",
    DJANGO_DEBUG: "False",
    LOG_LEVEL: "INFO",
};

/** Environment variable names that carry secrets; they belong in credentials (SVC-4). */
export const SECRET_ENV_NAME = /(PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY)/i;

export const credentialDir = (appName: string) => `/etc/${appName}/credentials`;

function envLine(key: string, value: string): string {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`systemd unit: environment name ${JSON.stringify(key)} is not a valid variable name`);
    if (SECRET_ENV_NAME.test(key)) {
        throw new Error(`systemd unit: ${key} looks like a secret; pass it as a credential, not Environment= (visible in systemctl show, SVC-4)`);
    }
    if (/["\\\n%$]/.test(value)) throw new Error(`systemd unit: value of ${key} must not contain quotes, backslashes, %, $ or newlines`);
    return `Environment="${key}=${value}"`;
}

export function renderAppUnit(o: AppUnitOptions): string {
    if (!o.execStart.startsWith("/")) throw new Error(`systemd unit: execStart must start with an absolute path, got ${JSON.stringify(o.execStart)}`);
    if (/[\n%]/.test(o.execStart)) throw new Error("systemd unit: execStart must be one line without % specifiers");
    for (const c of o.credentials) if (!/^[a-z0-9-]+$/.test(c)) throw new Error(`systemd unit: credential name ${JSON.stringify(c)} must be lowercase letters, digits and -`);
    const env = { ...(o.environment ?? {}), ...PRODUCTION_ENVIRONMENT, PORT: String(o.port), BIND: `127.0.0.1:${o.port}` };
    const writable = [`/var/lib/${o.appName}`, `/var/log/${o.appName}`, ...(o.writablePaths ?? [])];
    return [
        "# Managed by Pulumi: the app service (SVC-1..5). Local edits are overwritten.",
        "[Unit]",
        `Description=${o.appName} web application`,
        `After=network-online.target${o.after?.length ? " " + o.after.join(" ") : ""}`,
        "Wants=network-online.target",
        "# Back-off: at most 5 starts in 10 minutes, 5 s apart; then the unit stays failed and the health check reports it.",
        "StartLimitIntervalSec=600",
        "StartLimitBurst=5",
        "",
        "[Service]",
        "Type=simple",
        `User=${o.appName}`,
        `Group=${o.appName}`,
        `WorkingDirectory=${o.workingDirectory ?? `/opt/${o.appName}`}`,
        `ExecStart=${o.execStart}`,
        ...Object.entries(env).map(([k, v]) => envLine(k, v)),
        ...o.credentials.map((c) => `LoadCredential=${c}:${credentialDir(o.appName)}/${c}`),
        "Restart=on-failure",
        "RestartSec=5s",
        "UMask=0027",
        "",
        "# Sandboxing (SVC-2)",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        `ReadWritePaths=${writable.join(" ")}`,
        `StateDirectory=${o.appName}`,
        `LogsDirectory=${o.appName}`,
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "RestrictSUIDSGID=yes",
        "RestrictRealtime=yes",
        "RestrictNamespaces=yes",
        "LockPersonality=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

export const healthCheckScriptPath = (appName: string) => `/usr/local/lib/${appName}/healthcheck`;

/** The check: one request to the health endpoint; on failure log why and restart the app (SVC-6). */
export function renderHealthCheckScript(o: HealthCheckOptions): string {
    const url = `http://127.0.0.1:${o.port}${o.path ?? "/health"}`;
    if (!/^\/[A-Za-z0-9._~\-/]*$/.test(o.path ?? "/health")) throw new Error(`health check: path ${JSON.stringify(o.path)} must be an absolute URL path`);
    return [
        "#!/bin/bash",
        `# Managed by Pulumi: health check of ${o.appName} (SVC-6).`,
        "set -uo pipefail",
        `url=${JSON.stringify(url)}`,
        `unit=${JSON.stringify(`${o.appName}.service`)}`,
        'code=$(curl --silent --output /dev/null --max-time 5 --write-out "%{http_code}" "$url") || true',
        '[ "$code" = 200 ] && exit 0',
        'if [ -z "$code" ] || [ "$code" = 000 ]; then answer="no answer"; else answer="HTTP $code"; fi',
        'echo "health check of $unit failed ($url: $answer); restarting it" >&2',
        'systemctl restart "$unit"',
        "exit 1",
        "",
    ].join("\n");
}

export function renderHealthCheckService(o: HealthCheckOptions): string {
    return [
        "# Managed by Pulumi (SVC-6).",
        "[Unit]",
        `Description=Health check of ${o.appName}`,
        `After=${o.appName}.service`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${healthCheckScriptPath(o.appName)}`,
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "",
    ].join("\n");
}

export function renderHealthCheckTimer(o: HealthCheckOptions): string {
    const every = o.intervalSeconds ?? 60;
    if (!Number.isInteger(every) || every < 10) throw new Error(`health check: intervalSeconds ${every} must be a whole number >= 10`);
    return [
        "# Managed by Pulumi (SVC-6).",
        "[Unit]",
        `Description=Health check of ${o.appName} every ${every}s`,
        "",
        "[Timer]",
        "OnBootSec=2min",
        `OnUnitActiveSec=${every}s`,
        "AccuracySec=5s",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

/** How long a unit bound to a private address waits at start for the address to exist. */
export const PRIVATE_ADDRESS_WAIT_SECONDS = 60;

/**
 * A drop-in for a unit that binds a private address (nginx and PostgreSQL in a fleet). The provider's network
 * configuration may bring the private interface up after network-online.target (DHCP on a hotplugged interface):
 * a server that starts first fails to bind (EADDRNOTAVAIL) and stays down after a reboot. The unit starts after
 * the network and waits up to `waitSeconds` (default {@link PRIVATE_ADDRESS_WAIT_SECONDS}) for the address before it
 * starts, within systemd's default start timeout of 90 s. `before`: the unit's own ExecStartPre commands, which then
 * run after the wait (Debian's nginx.service tests its configuration with `nginx -t`, which binds the listeners).
 */
export function renderPrivateAddressDropIn(unit: string, address: string, o: { waitSeconds?: number; before?: string[] } = {}): string {
    const { waitSeconds = PRIVATE_ADDRESS_WAIT_SECONDS, before = [] } = o;
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(address)) throw new Error(`private address drop-in: ${JSON.stringify(address)} is not an IPv4 address`);
    // systemd expands $ in command lines: $$ passes a literal one to the shell.
    if (!Number.isInteger(waitSeconds) || waitSeconds < 1) throw new Error(`private address drop-in: waitSeconds ${waitSeconds} must be a positive integer`);
    const wait = `for i in $$(seq ${waitSeconds}); do ip -4 -o addr show | grep -qF ' inet ${address}/' && exit 0; sleep 1; done; echo '${address} is not configured on any interface' >&2; exit 1`;
    return [
        `# Managed by Pulumi: ${unit} binds ${address}; start it once the private network has given this server that address.`,
        "[Unit]",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        // The unit's own ExecStartPre lines (`before`) may bind the address too (`nginx -t` does): the list is reset
        // so the wait comes first.
        ...(before.length ? ["ExecStartPre="] : []),
        `ExecStartPre=/bin/sh -c "${wait}"`,
        ...before.map((c) => `ExecStartPre=${c}`),
        "",
    ].join("\n");
}
