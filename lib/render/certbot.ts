/**
 * TLS certificates (TLS-5). nginx always reads `/etc/<app>/tls/{fullchain,privkey}.pem`:
 * - before any certificate exists there, a self-signed one is put there so nginx can start and answer the
 *   ACME challenge on port 80;
 * - mode `letsencrypt`: certbot issues through the webroot (the Let's Encrypt staging CA for staging), and its
 *   deploy hook points the paths at the live certificate and reloads nginx; Debian's certbot.timer renews;
 * - mode `self-signed`: for private deployments and tests, the self-signed certificate stays;
 * - mode `shared` (the other app servers of a fleet): the first app server obtains the one certificate of the fleet
 *   and its deploy hook pushes it to them over the private network, at issue and at every renewal. Let's Encrypt
 *   issues 5 certificates for the same names a week, so the servers must not each ask for their own.
 */
import { shq } from "./apply-script";

/**
 * Where the first app server pushes the fleet's certificate: the other app servers' private addresses, the admin
 * user and SSH port they are reached with, and their pinned host keys (`known_hosts` lines).
 */
export type CertificateShare = { hosts: readonly string[]; user: string; port: number; knownHosts: string };

export type CertificateOptions = {
    appName: string;
    domains: string[];
    mode: "letsencrypt" | "self-signed" | "shared";
    /** Let's Encrypt account e-mail (mode letsencrypt). */
    email?: string;
    /** Use the Let's Encrypt staging CA (the staging stack). Default false. */
    staging?: boolean;
    /** ACME webroot. Default `/var/www/acme`. */
    webroot?: string;
    /** Mode letsencrypt in a fleet: push the certificate to the other app servers. Default: none. */
    share?: CertificateShare;
};

/** The first app server's key for pushing the certificate; the others accept it for the receive command only. */
export const shareDir = (appName: string) => `/etc/${appName}/tls-share`;
export const shareKeyPath = (appName: string) => `${shareDir(appName)}/id_ed25519`;
/** The receive command on the other app servers, the only thing the push key may run. */
export const receivePath = (appName: string) => `/usr/local/lib/${appName}/tls-receive`;
/** Marks the push key's line in the admin user's authorized_keys, so a new key replaces it. */
export const shareKeyComment = (appName: string) => `${appName}-tls-share`;

/** Bash lines on the first app server: its push key, made once; the public half is printed for the others. */
export function shareKeyCommands(appName: string): string[] {
    const key = shareKeyPath(appName);
    return [
        `install -d -m 0700 -o root -g root ${shareDir(appName)}`,
        `[ -e ${key} ] || ssh-keygen -q -t ed25519 -N '' -C ${shareKeyComment(appName)} -f ${key}`,
        `echo "share-key: $(cut -d' ' -f1,2 ${key}.pub)"`,
    ];
}

/** The public push key in a key step's output, or undefined while the output is not there. */
export const shareKeyOf = (stdout: string): string | undefined => /^share-key: (ssh-ed25519 [A-Za-z0-9+/=]+)$/m.exec(stdout)?.[1];
/** The host key a receive step prints (its server's Ed25519 key, pinned by the pushing server). */
export const hostKeyOf = (stdout: string): string | undefined => /^host-key: (ssh-ed25519 [A-Za-z0-9+/=]+)$/m.exec(stdout)?.[1];

/** A known_hosts line for a host key at an address and port, as ssh writes it. */
export const knownHostsLine = (address: string, port: number, key: string) => `${port === 22 ? address : `[${address}]:${port}`} ${key}`;

/**
 * The authorized_keys line of the push key on the other app servers: only from the first app server's address,
 * no terminal or forwarding (`restrict`), and whatever the client asks, only the receive command runs.
 */
export const shareAuthorizedKey = (appName: string, from: string, key: string) =>
    `restrict,from="${from}",command="sudo -n ${receivePath(appName)}" ${key} ${shareKeyComment(appName)}`;

/** The managed file on another app server that holds the push key's authorized_keys line. */
export const shareAuthorizedKeyPath = (appName: string) => `${shareDir(appName)}/authorized_key`;

/**
 * Bash lines on another app server: the push key's line (the managed file {@link shareAuthorizedKeyPath}) in the
 * admin user's authorized_keys, replacing an older one, and the server's host key printed for the first app server
 * to pin.
 */
export function authorizeShareCommands(a: { appName: string; adminUser: string }): string[] {
    const file = `/home/${a.adminUser}/.ssh/authorized_keys`;
    return [
        `install -d -m 0700 -o ${a.adminUser} -g ${a.adminUser} /home/${a.adminUser}/.ssh`,
        `touch ${file} && chown ${a.adminUser}:${a.adminUser} ${file} && chmod 0600 ${file}`,
        `line=$(cat ${shareAuthorizedKeyPath(a.appName)})`,
        `if ! grep -qxF "$line" ${file}; then`,
        `    grep -v ' ${shareKeyComment(a.appName)}$' ${file} > ${file}.new || true`,
        `    echo "$line" >> ${file}.new`,
        `    chown ${a.adminUser}:${a.adminUser} ${file}.new && chmod 0600 ${file}.new && mv -f ${file}.new ${file}`,
        '    log "push key authorized"',
        "fi",
        `echo "host-key: $(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)"`,
    ];
}

/**
 * The receive command: reads a tar of fullchain.pem and privkey.pem on stdin, keeps it only if the certificate is
 * valid now, names the primary domain and matches the key, installs it in place of the current one and reloads
 * nginx. An unchanged certificate changes nothing. `dir` is where nginx reads it (default `tlsDir`).
 */
export function renderReceiveScript(o: { appName: string; domain: string; dir?: string }): string {
    const dir = o.dir ?? tlsDir(o.appName);
    return [
        "#!/bin/bash",
        `# Managed by Pulumi: installs the fleet's certificate for ${o.domain}, pushed by the first app server (TLS-5).`,
        "set -euo pipefail",
        "umask 077",
        'tmp=$(mktemp -d)',
        `trap 'rm -rf "$tmp"' EXIT`,
        // Only the two named members are extracted, as plain files owned by root.
        'tar -x -C "$tmp" --no-same-owner --no-same-permissions -f - fullchain.pem privkey.pem',
        'for f in fullchain.pem privkey.pem; do',
        '    if [ ! -f "$tmp/$f" ] || [ -L "$tmp/$f" ]; then echo "tls-receive: $f missing" >&2; exit 1; fi',
        "done",
        `openssl x509 -in "$tmp/fullchain.pem" -noout -checkend 0 >/dev/null || { echo "tls-receive: the certificate has expired" >&2; exit 1; }`,
        `openssl x509 -in "$tmp/fullchain.pem" -noout -checkhost ${shq(o.domain)} | grep -q 'does match' || { echo "tls-receive: the certificate does not name ${o.domain}" >&2; exit 1; }`,
        'cert_key=$(openssl x509 -in "$tmp/fullchain.pem" -noout -pubkey | openssl sha256)',
        'own_key=$(openssl pkey -in "$tmp/privkey.pem" -pubout | openssl sha256)',
        '[ "$cert_key" = "$own_key" ] || { echo "tls-receive: the key does not match the certificate" >&2; exit 1; }',
        `if cmp -s "$tmp/fullchain.pem" ${dir}/fullchain.pem && cmp -s "$tmp/privkey.pem" ${dir}/privkey.pem; then echo "tls-receive: unchanged"; exit 0; fi`,
        `install -m 0600 -o root -g root "$tmp/privkey.pem" ${dir}/privkey.pem.new`,
        `install -m 0644 -o root -g root "$tmp/fullchain.pem" ${dir}/fullchain.pem.new`,
        `mv -f ${dir}/privkey.pem.new ${dir}/privkey.pem`,
        `mv -f ${dir}/fullchain.pem.new ${dir}/fullchain.pem`,
        "nginx -t -q && systemctl reload nginx",
        'echo "tls-receive: installed"',
        "",
    ].join("\n");
}


export const tlsDir = (appName: string) => `/etc/${appName}/tls`;
/** Passed to certbot as --deploy-hook, which it also records for renewals (not in renewal-hooks/, which would run it twice). */
export const deployHookPath = (appName: string) => `/usr/local/lib/${appName}/certbot-deploy-hook`;

/**
 * Bash lines: a self-signed certificate in the TLS directory unless one is already there. In mode `self-signed`
 * the step also replaces one that expires within a day (TLS-5: nothing else renews it), and nginx reloads.
 */
export function bootstrapCertificate(o: CertificateOptions): string[] {
    const dir = tlsDir(o.appName);
    const san = o.domains.map((d) => `DNS:${d}`).join(",");
    const expiring = o.mode === "self-signed" ? ` || ! openssl x509 -in ${dir}/fullchain.pem -noout -checkend 86400 >/dev/null 2>&1` : "";
    return [
        `install -d -m 0750 -o root -g root ${dir}`,
        `if [ ! -e ${dir}/fullchain.pem ] || [ ! -e ${dir}/privkey.pem ]${expiring}; then`,
        `    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 -subj ${shq(`/CN=${o.domains[0]}`)} -addext ${shq(`subjectAltName=${san}`)} -keyout ${dir}/privkey.pem -out ${dir}/fullchain.pem 2>/dev/null`,
        `    chmod 0600 ${dir}/privkey.pem`,
        '    log "self-signed certificate created"',
        ...(o.mode === "self-signed" ? [`    changed+=(${dir}/fullchain.pem)`] : []),
        "fi",
    ];
}

/** The certbot deploy hook: point the TLS paths at the renewed certificate, then reload nginx if it accepts it. */
export function renderDeployHook(o: CertificateOptions): string {
    const dir = tlsDir(o.appName);
    return [
        "#!/bin/bash",
        `# Managed by Pulumi: after certbot issues or renews ${o.domains[0]}, nginx serves it (TLS-5).`,
        "set -euo pipefail",
        `[ "\${RENEWED_LINEAGE:-}" = /etc/letsencrypt/live/${o.domains[0]} ] || exit 0`,
        `ln -sfn "$RENEWED_LINEAGE/fullchain.pem" ${dir}/fullchain.pem`,
        `ln -sfn "$RENEWED_LINEAGE/privkey.pem" ${dir}/privkey.pem`,
        "nginx -t -q && systemctl reload nginx",
        ...(o.share ? pushLines(o.appName, o.share) : []),
        "",
    ].join("\n");
}

/**
 * The deploy hook's push: the live certificate to every other app server, host keys pinned. A server that fails
 * does not stop the others; the hook then fails, and certbot reports it.
 */
function pushLines(appName: string, share: CertificateShare): string[] {
    const ssh = [
        "ssh", "-i", shareKeyPath(appName), "-p", String(share.port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-o", `UserKnownHostsFile=${share.knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=20",
    ];
    return [
        "failed=0",
        `for host in ${share.hosts.join(" ")}; do`,
        `    tar -C "$RENEWED_LINEAGE" -chf - fullchain.pem privkey.pem | ${ssh.join(" ")} ${share.user}@"$host" || { echo "certificate push to $host failed" >&2; failed=1; }`,
        "done",
        'exit "$failed"',
    ];
}

/**
 * Bash lines that obtain the certificate; certbot keeps an unexpired one with the same names, so reruns are
 * no-ops. If a live certificate exists but nginx still has the bootstrap one (a hook that failed earlier), the
 * hook is run again.
 */
export function issueCertificate(o: CertificateOptions): string[] {
    if (o.mode !== "letsencrypt") return [];
    if (!o.email) throw new Error("certificates: mode letsencrypt needs an e-mail address");
    const live = `/etc/letsencrypt/live/${o.domains[0]}`;
    const args = [
        "certonly", "--non-interactive", "--agree-tos", "--email", o.email, "--webroot", "-w", o.webroot ?? "/var/www/acme",
        "--cert-name", o.domains[0], "--keep-until-expiring", "--expand", "--deploy-hook", deployHookPath(o.appName),
        ...o.domains.flatMap((d) => ["-d", d]), ...(o.staging ? ["--staging"] : []),
    ];
    // With a share the hook runs whenever the step does: the servers it pushes to may have changed.
    const stale = o.share ? `[ -e ${live}/fullchain.pem ]` : `[ -e ${live}/fullchain.pem ] && [ "$(readlink ${tlsDir(o.appName)}/fullchain.pem)" != ${live}/fullchain.pem ]`;
    return [`certbot ${args.map(shq).join(" ")}`, `if ${stale}; then`, `    RENEWED_LINEAGE=${live} ${deployHookPath(o.appName)}`, "fi"];
}
