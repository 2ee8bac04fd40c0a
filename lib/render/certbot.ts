/**
 * TLS certificates (TLS-5). nginx always reads `/etc/<app>/tls/{fullchain,privkey}.pem`:
 * - before any certificate exists there, a self-signed one is put there so nginx can start and answer the
 *   ACME challenge on port 80;
 * - mode `letsencrypt`: certbot issues through the webroot (the Let's Encrypt staging CA for staging), and its
 *   deploy hook points the paths at the live certificate and reloads nginx; Debian's certbot.timer renews;
 * - mode `self-signed`: for private deployments and tests, the self-signed certificate stays.
 */
import { shq } from "./apply-script";

export type CertificateOptions = {
    appName: string;
    domains: string[];
    mode: "letsencrypt" | "self-signed";
    /** Let's Encrypt account e-mail (mode letsencrypt). */
    email?: string;
    /** Use the Let's Encrypt staging CA (the staging stack). Default false. */
    staging?: boolean;
    /** ACME webroot. Default `/var/www/acme`. */
    webroot?: string;
};

export const tlsDir = (appName: string) => `/etc/${appName}/tls`;
/** Passed to certbot as --deploy-hook, which it also records for renewals (not in renewal-hooks/, which would run it twice). */
export const deployHookPath = (appName: string) => `/usr/local/lib/${appName}/certbot-deploy-hook`;

/** Bash lines: a self-signed certificate in the TLS directory unless one is already there. */
export function bootstrapCertificate(o: CertificateOptions): string[] {
    const dir = tlsDir(o.appName);
    const san = o.domains.map((d) => `DNS:${d}`).join(",");
    return [
        `install -d -m 0750 -o root -g root ${dir}`,
        `if [ ! -e ${dir}/fullchain.pem ] || [ ! -e ${dir}/privkey.pem ]; then`,
        `    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 -subj ${shq(`/CN=${o.domains[0]}`)} -addext ${shq(`subjectAltName=${san}`)} -keyout ${dir}/privkey.pem -out ${dir}/fullchain.pem 2>/dev/null`,
        `    chmod 0600 ${dir}/privkey.pem`,
        '    log "self-signed certificate created"',
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
        "",
    ].join("\n");
}

/**
 * Bash lines that obtain the certificate; certbot keeps an unexpired one with the same names, so reruns are
 * no-ops. If a live certificate exists but nginx still has the bootstrap one (a hook that failed earlier), the
 * hook is run again.
 */
export function issueCertificate(o: CertificateOptions): string[] {
    if (o.mode === "self-signed") return [];
    if (!o.email) throw new Error("certificates: mode letsencrypt needs an e-mail address");
    const live = `/etc/letsencrypt/live/${o.domains[0]}`;
    const args = [
        "certonly", "--non-interactive", "--agree-tos", "--email", o.email, "--webroot", "-w", o.webroot ?? "/var/www/acme",
        "--cert-name", o.domains[0], "--keep-until-expiring", "--expand", "--deploy-hook", deployHookPath(o.appName),
        ...o.domains.flatMap((d) => ["-d", d]), ...(o.staging ? ["--staging"] : []),
    ];
    return [
        `certbot ${args.map(shq).join(" ")}`,
        `if [ -e ${live}/fullchain.pem ] && [ "$(readlink ${tlsDir(o.appName)}/fullchain.pem)" != ${live}/fullchain.pem ]; then`,
        `    RENEWED_LINEAGE=${live} ${deployHookPath(o.appName)}`,
        "fi",
    ];
}
