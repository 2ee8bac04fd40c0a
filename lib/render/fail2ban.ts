/**
 * fail2ban: the sshd jail (SSH-4) and the app jail with the filter for seed 000's audit lines (LOG-2).
 */

export type Fail2banOptions = {
    /** App name: filter and jail name. */
    appName: string;
    /** SSH port the sshd jail watches. Default 22. */
    sshPort?: number;
    /** Log files the app writes its `SECURITY[...]` lines to. */
    appLogFiles: string[];
    /** Failures before a ban (<= 5). Default 5. */
    maxRetry?: number;
    /** Window in seconds (>= 600). Default 600. */
    findTime?: number;
    /** Ban length in seconds (>= 3600). Default 3600. */
    banTime?: number;
    /**
     * Where the app jail bans. `firewall` (default): fail2ban's ban action drops the address's packets. `nginx`: the
     * address goes into {@link bannedMapFile}, whose map nginx answers with 403 (a server behind the load balancer:
     * every packet comes from the load balancer, so a firewall ban of the client's address would stop nothing, and
     * one of the load balancer's address would take the site down).
     */
    banIn?: "firewall" | "nginx";
};

/**
 * The list of addresses the app jail has banned, in nginx `map` syntax (`\<address> 1;`), kept by fail2ban's stock
 * nginx-block-map action; nginx's http context includes it.
 */
export const bannedMapFile = (appName: string) => `/etc/nginx/${appName}-banned.map`;

export const FAIL2BAN_EVENTS = ["LOGIN_FAILED", "2FA_FAILED", "LOCKOUT"] as const;

const limits = (o: Fail2banOptions) => [`maxretry = ${o.maxRetry ?? 5}`, `findtime = ${o.findTime ?? 600}`, `bantime = ${o.banTime ?? 3600}`];

/**
 * `/etc/fail2ban/jail.d/sshd.local`. Debian 12 has no /var/log/auth.log without rsyslog, so the jail reads the
 * journal; with the default file backend fail2ban would not start.
 */
export function renderSshdJail(o: Fail2banOptions): string {
    return ["# Managed by Pulumi (SSH-4).", "[sshd]", "enabled = true", "backend = systemd", `port = ${o.sshPort ?? 22}`, ...limits(o), ""].join("\n");
}

/**
 * `/etc/fail2ban/filter.d/<app>.conf`: the app's `SECURITY[LOGIN_FAILED|2FA_FAILED|LOCKOUT]: user=... ip=<HOST>`
 * lines, dated `YYYY-MM-DD HH:MM:SS` at the start of the line (after an optional `[`, as gunicorn writes it).
 * Success and logout lines never match.
 *
 * The user name and the request come from the client, so a line must not let them choose the banned address:
 * the prefix before `SECURITY[` may hold no `=` (so no query string or earlier field can carry a fake audit
 * line), and a line with a second ` ip=` after the user (a name like `a ip=192.0.2.1`) does not count at all.
 * Such a login attempt is then only rate limited by nginx (RL-1), not banned; banning an address the client
 * named would be worse.
 */
export function renderAppFilter(): string {
    return [
        "# Managed by Pulumi (LOG-2): the app's audit lines for failed logins, failed 2FA and lockouts.",
        "# Lines whose client-supplied parts could name another address (a second ip=, a '=' before SECURITY) never match.",
        "[Definition]",
        `failregex = ^[^=]*?SECURITY\\[(?:${FAIL2BAN_EVENTS.join("|")})\\]: user=\\S+ ip=<HOST>(?!.*\\sip=)(?:\\s|$)`,
        "ignoreregex =",
        "datepattern = {^LN-BEG}%%Y-%%m-%%d %%H:%%M:%%S",
        "",
    ].join("\n");
}

/** `/etc/fail2ban/jail.d/<app>.local`. */
export function renderAppJail(o: Fail2banOptions): string {
    if (o.appLogFiles.length === 0) throw new Error("fail2ban: the app jail needs at least one log file");
    return [
        "# Managed by Pulumi (LOG-2).",
        `[${o.appName}]`,
        "enabled = true",
        "backend = auto",
        `filter = ${o.appName}`,
        "port = http,https",
        ...(o.banIn === "nginx"
            ? [
                  "# Behind the load balancer every packet comes from its address: nginx refuses the client's address (403),",
                  "# read from the PROXY header, instead of the firewall.",
                  `action = nginx-block-map[blck_lst_file="${bannedMapFile(o.appName)}"]`,
              ]
            : []),
        `logpath = ${o.appLogFiles.join("\n          ")}`,
        ...limits(o),
        "",
    ].join("\n");
}
