/**
 * logrotate for the app's logs (LOG-1): daily, compressed, created 0640 for the app user, error logs kept
 * longer. Each file is listed by name so no file falls under two blocks (logrotate refuses duplicates).
 */

export type LogFile = { name: string; retentionDays: number };

export type LogrotateOptions = {
    appName: string;
    /** Log directory. Default `/var/log/<app>`. */
    directory?: string;
    /** Files and how long each is kept. Default app.log and access.log 30 days, error.log 90 days. */
    files?: LogFile[];
    /** Signal that makes the app reopen its logs. Default `USR1` (gunicorn and most Python/Node servers). */
    reopenSignal?: string;
};

export const DEFAULT_LOG_FILES: LogFile[] = [
    { name: "app.log", retentionDays: 30 },
    { name: "access.log", retentionDays: 30 },
    { name: "error.log", retentionDays: 90 },
];

export function renderLogrotate(o: LogrotateOptions): string {
    const dir = o.directory ?? `/var/log/${o.appName}`;
    const files = o.files ?? DEFAULT_LOG_FILES;
    const signal = o.reopenSignal ?? "USR1";
    if (!/^[A-Z0-9]+$/.test(signal)) throw new Error(`logrotate: reopenSignal ${JSON.stringify(signal)} must be a signal name like USR1`);
    const byRetention = new Map<number, string[]>();
    for (const f of files) {
        if (!/^[A-Za-z0-9._-]+$/.test(f.name)) throw new Error(`logrotate: log file name ${JSON.stringify(f.name)} must be a plain file name`);
        if (!Number.isInteger(f.retentionDays) || f.retentionDays < 1) throw new Error(`logrotate: retention of ${f.name} must be >= 1 day`);
        byRetention.set(f.retentionDays, [...(byRetention.get(f.retentionDays) ?? []), `${dir}/${f.name}`]);
    }
    const blocks = [...byRetention.entries()].map(([days, paths]) =>
        [
            `${paths.join(" ")} {`,
            "    daily",
            `    rotate ${days}`,
            `    maxage ${days}`,
            "    missingok",
            "    notifempty",
            "    compress",
            "    delaycompress",
            "    dateext",
            `    create 0640 ${o.appName} ${o.appName}`,
            `    su ${o.appName} ${o.appName}`,
            "    sharedscripts",
            "    postrotate",
            `        systemctl kill --signal=${signal} --kill-whom=main ${o.appName}.service >/dev/null 2>&1 || true`,
            "    endscript",
            "}",
        ].join("\n"),
    );
    return ["# Managed by Pulumi: the app's logs (LOG-1).", ...blocks, ""].join("\n");
}
