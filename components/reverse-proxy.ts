/**
 * ReverseProxy: nginx on one server with TLS, security headers, rate limits and the proxy rules (TLS-1..6,
 * HDR-1..6, RL-1..2, PX-1..3), and its certificate (TLS-5): Let's Encrypt (staging CA for the staging stack)
 * with renewal, or self-signed for private deployments.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, enableNow, lateValue } from "../lib/render/apply-script";
import { bootstrapCertificate, CertificateOptions, deployHookPath, issueCertificate, knownHostsLine, renderDeployHook, shareDir, tlsDir } from "../lib/render/certbot";
import { bannedMapFile } from "../lib/render/fail2ban";
import { ensureListeners, nginxListeners, renderNginxHttpConf, renderNginxSite, ReverseProxyOptions, reverseProxyProblems } from "../lib/render/nginx";
import { renderPrivateAddressDropIn } from "../lib/render/systemd";
import { aptInstall } from "./host-hardening";
import { remoteStep } from "./remote-step";
import type { SshConnection } from "./vps";

export interface ReverseProxyArgs {
    /** How to reach the server. Required. */
    connection: pulumi.Input<SshConnection>;
    /**
     * The proxy: domains, upstream port, login path, API prefix, rate limits, CSP, frame options, HSTS, body size,
     * timeouts, uploads (see ReverseProxyOptions for each default). The certificate paths are set here.
     */
    proxy: Omit<ReverseProxyOptions, "certificate">;
    /** Certificate source: `letsencrypt` (default) or `self-signed`. */
    tlsMode?: "letsencrypt" | "self-signed";
    /** Let's Encrypt account e-mail. Required for letsencrypt. */
    acmeEmail?: string;
    /** Use the Let's Encrypt staging CA. Default false. */
    acmeStaging?: boolean;
    /**
     * In a fleet with tlsMode letsencrypt (components/shared-certificate.ts): the `leader` obtains the certificate and
     * pushes it to the other app servers (their private addresses, the admin user and SSH port, their host keys); a
     * `follower` keeps its bootstrap certificate until the leader's arrives. Default: none, the server obtains its own.
     */
    share?: { role: "leader"; followers: { address: string; hostKey: pulumi.Input<string> }[]; user: string; sshPort: number } | { role: "follower" };
}

/** The drop-in that makes nginx wait for its private address (a server behind the load balancer). */
/** Debian's nginx.service tests its configuration before it starts; `nginx -t` binds every listener. */
export const DEBIAN_NGINX_TEST = "/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'";

export const NGINX_PRIVATE_ADDRESS_DROPIN = "/etc/systemd/system/nginx.service.d/10-private-address.conf";

export function reverseProxyScript(a: ReverseProxyArgs): ApplyScript {
    const share = a.share;
    const followers = share?.role === "leader" ? share.followers : [];
    const cert: CertificateOptions = {
        appName: a.proxy.name,
        domains: a.proxy.domains,
        mode: share?.role === "follower" ? "shared" : (a.tlsMode ?? "letsencrypt"),
        email: a.acmeEmail,
        staging: a.acmeStaging,
        webroot: a.proxy.acmeWebroot,
        share: share?.role === "leader" ? { hosts: followers.map((f) => f.address), user: share.user, port: share.sshPort, knownHosts: `${shareDir(a.proxy.name)}/known_hosts` } : undefined,
    };
    const options: ReverseProxyOptions = { ...a.proxy, certificate: { fullchain: `${tlsDir(cert.appName)}/fullchain.pem`, privkey: `${tlsDir(cert.appName)}/privkey.pem` } };
    return {
        name: "nginx",
        prepare: [
            ...aptInstall(["nginx", "certbot", "openssl"]),
            `install -d -m 0755 ${a.proxy.acmeWebroot ?? "/var/www/acme"}`,
            ...bootstrapCertificate(cert),
            // Debian's default site answers any name with its welcome page.
            "rm -f /etc/nginx/sites-enabled/default",
            // Behind the load balancer the http context includes the app jail's ban list, which fail2ban keeps.
            ...(a.proxy.loadBalancer ? [`[ -e ${bannedMapFile(a.proxy.name)} ] || install -m 0644 /dev/null ${bannedMapFile(a.proxy.name)}`] : []),
        ],
        files: [
            { path: `/etc/nginx/conf.d/${a.proxy.name}.conf`, content: renderNginxHttpConf(options) },
            { path: `/etc/nginx/sites-enabled/${a.proxy.name}`, content: renderNginxSite(options) },
            { path: deployHookPath(cert.appName), content: renderDeployHook(cert), mode: "0755" },
            // Behind the load balancer nginx binds the private address alone: after a reboot it waits for it.
            ...(a.proxy.loadBalancer ? [{ path: NGINX_PRIVATE_ADDRESS_DROPIN, content: renderPrivateAddressDropIn("nginx", a.proxy.loadBalancer.listenAddress, { before: [DEBIAN_NGINX_TEST] }) }] : []),
            // The other servers' host keys (late values: read from their receive steps), pinned for the push.
            ...(cert.share ? [{ path: cert.share.knownHosts, content: followers.map((f, i) => knownHostsLine(f.address, cert.share!.port, lateValue(`host-key-${i + 1}`))).join("\n") + "\n", mode: "0600" }] : []),
        ],
        validate: ["nginx -t -q"],
        activate: [...(a.proxy.loadBalancer ? ["systemctl daemon-reload"] : []), "systemctl reload-or-restart nginx"],
        ensure: [enableNow(["nginx"]), ...ensureListeners(nginxListeners(options)), ...issueCertificate(cert)],
    };
}

export class ReverseProxy extends pulumi.ComponentResource {
    public readonly steps: command.remote.Command[];

    constructor(name: string, args: ReverseProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        // Bad arguments fail before anything is registered.
        const problems = reverseProxyProblems({ ...args.proxy, certificate: { fullchain: "/", privkey: "/" } });
        if ((args.tlsMode ?? "letsencrypt") === "letsencrypt" && !args.acmeEmail) problems.push("acmeEmail is required with tlsMode letsencrypt");
        if (problems.length) throw new Error(`ReverseProxy ${name}: ${problems.join("; ")}`);
        super("webapp:proxy:ReverseProxy", name, args, opts);
        // A component's dependsOn does not reach its children: the step carries it.
        const followers = args.share?.role === "leader" ? args.share.followers : [];
        const values = Object.fromEntries(followers.map((f, i) => [`host-key-${i + 1}`, f.hostKey]));
        this.steps = [remoteStep(`${name}-nginx`, { connection: args.connection, script: reverseProxyScript(args), values }, { parent: this, dependsOn: opts?.dependsOn })];
        this.registerOutputs({});
    }
}
