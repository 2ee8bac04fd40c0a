/**
 * Let's Encrypt for real, as far as a machine without the internet allows (TLS-5): the prod stack's own nginx step
 * runs unchanged against Pebble, Let's Encrypt's ACME test server (Debian's package), with pebble-challtestsrv
 * answering DNS for the domain with 127.0.0.1. Everything runs in a private network namespace (nginx on its real
 * ports 80 and 443) and a private mount namespace whose /etc, /usr/local and /var are overlays, so nothing reaches
 * the machine. The only differences from production: certbot's CA, set in /etc/letsencrypt/cli.ini as an operator
 * would; the CA's TLS certificate trusted through REQUESTS_CA_BUNDLE; and a `systemctl` stand-in that starts and
 * reloads nginx (no systemd inside the namespace).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resource, run, runStack, stepScript } from "./helpers";
import { selfSignedCert } from "./support/nginx";

let dir: string;

const DOMAIN = "app.example.com";
const upper = (p: string) => path.join(dir, "upper", p.replace(/^\/+/, ""));

/** systemd's part for nginx, as far as the step and the deploy hook use it. */
const SYSTEMCTL = `#!/bin/bash
# Test stand-in for systemctl inside the namespace: nginx only.
running() { [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; }
echo "systemctl $*" >> "$T/systemctl.log"
args=("$@"); unit="\${args[-1]}"
[ "$unit" = nginx ] || [ "$unit" = nginx.service ] || { echo "stub: unit $unit unknown" >&2; exit 1; }
case "$1" in
    is-enabled) [ -e /run/nginx.enabled ] ;;
    is-active) running ;;
    enable) touch /run/nginx.enabled; running || nginx ;;
    start) running || nginx ;;
    reload) running && nginx -s reload ;;
    reload-or-restart) if running; then nginx -s reload; else nginx; fi ;;
    *) echo "stub: $1 unsupported" >&2; exit 1 ;;
esac
`;

/** The orchestration inside the namespaces: CA, DNS, the step twice, then a client's view. */
const ORCHESTRATE = `#!/bin/bash
set -euo pipefail
ip link set lo up
for d in etc usr/local var; do
    mkdir -p "$T/upper/$d" "$T/work/$d"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/upper/$d,workdir=$T/work/$d" "/$d"
done
mount -t tmpfs tmpfs /run
export PATH="$T/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Whatever happens, nothing started here outlives the namespace.
trap 'nginx -s quit 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; wait' EXIT

pebble-challtestsrv -dns01 127.0.0.1:8053 -http01 "" -https01 "" -tlsalpn01 "" -management 127.0.0.1:8055 -defaultIPv4 127.0.0.1 -defaultIPv6 "" > "$T/challtestsrv.log" 2>&1 &
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$T/pebble.json" -dnsserver 127.0.0.1:8053 > "$T/pebble.log" 2>&1 &
for _ in $(seq 100); do curl -sk -o /dev/null https://localhost:14000/dir && break; sleep 0.1; done

# The operator's one change for another ACME CA: certbot's server in its configuration file.
echo "server = https://localhost:14000/dir" >> /etc/letsencrypt/cli.ini
export REQUESTS_CA_BUNDLE="$T/pebble-tls/fullchain.pem"

echo "=== first run"; bash "$T/step.sh" > "$T/first.log" 2>&1 && echo "first: exit 0" || echo "first: exit $?"
echo "=== second run"; bash "$T/step.sh" > "$T/second.log" 2>&1 && echo "second: exit 0" || echo "second: exit $?"

echo "=== renew dry run"; certbot renew --dry-run --no-random-sleep-on-renew > "$T/renew.log" 2>&1 && echo "renew: exit 0" || echo "renew: exit $?"

curl -sk https://localhost:15000/roots/0 > "$T/pebble-root.pem"
curl -sk https://localhost:15000/intermediates/0 > "$T/pebble-intermediate.pem"
echo "=== client"
curl -sS -o /dev/null -w 'https %{http_code} verify %{ssl_verify_result}\\n' --cacert "$T/pebble-root.pem" --resolve ${DOMAIN}:443:127.0.0.1 https://${DOMAIN}/ || true
curl -sS -o /dev/null -w 'http %{http_code} %{redirect_url}\\n' --resolve ${DOMAIN}:80:127.0.0.1 http://${DOMAIN}/ || true
echo | openssl s_client -connect 127.0.0.1:443 -servername ${DOMAIN} 2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName
`;

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acme-"));
    const prod = await runStack("prod");
    fs.writeFileSync(path.join(dir, "step.sh"), stepScript(resource(prod, "proxy-0-nginx")));
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), SYSTEMCTL, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "pebble-tls"));
    const tls = selfSignedCert(path.join(dir, "pebble-tls"), ["localhost"]);
    fs.writeFileSync(
        path.join(dir, "pebble.json"),
        JSON.stringify({ pebble: { listenAddress: "127.0.0.1:14000", managementListenAddress: "127.0.0.1:15000", certificate: tls.fullchain, privateKey: tls.privkey, httpPort: 80, tlsPort: 5001, ocspResponderURL: "", externalAccountBindingRequired: false } }),
    );
    fs.writeFileSync(path.join(dir, "orchestrate.sh"), ORCHESTRATE);
    const res = run("unshare", ["--mount", "--net", "--propagation", "private", "bash", path.join(dir, "orchestrate.sh")], { env: { T: dir, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    fs.writeFileSync(path.join(dir, "orchestrate.log"), res.stdout + res.stderr);
}, 120_000);

afterAll(() => {
    if (dir && !process.env.KEEP_ACME) fs.rmSync(dir, { recursive: true, force: true });
});

/** A log the orchestration wrote (orchestrate, first, second, renew), or "" when it did not get that far. */
const logOf = (name: string) => {
    const file = path.join(dir, `${name}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
};
const log = () => logOf("orchestrate");

test("the first run gets a certificate from the CA through the HTTP-01 challenge nginx serves, and nginx serves it", () => {
    expect(log()).toContain("first: exit 0");
    expect(logOf("first")).toMatch(/Successfully received certificate/);
    // The deploy hook pointed nginx's paths at the live certificate.
    expect(fs.readlinkSync(upper("etc/webapp/tls/fullchain.pem"))).toBe(`/etc/letsencrypt/live/${DOMAIN}/fullchain.pem`);
    expect(fs.readlinkSync(upper("etc/webapp/tls/privkey.pem"))).toBe(`/etc/letsencrypt/live/${DOMAIN}/privkey.pem`);
    // A client that trusts only the CA's root verifies the chain nginx now sends, for both names.
    expect(log()).toMatch(/^https 502 verify 0$/m); // TLS verified; 502 because no app runs behind nginx here
    expect(log()).toMatch(/^issuer=CN = Pebble Intermediate CA/m);
    expect(log()).toMatch(new RegExp(`DNS:${DOMAIN.replace(/\./g, "\\.")}`));
    expect(log()).toMatch(new RegExp(`DNS:www\\.${DOMAIN.replace(/\./g, "\\.")}`));
    expect(log()).toMatch(new RegExp(`^http 301 https://${DOMAIN.replace(/\./g, "\\.")}/$`, "m"));
    // The challenge was answered by nginx from the webroot on port 80.
    const access = fs.readFileSync(upper("var/log/nginx/access.log"), "utf8");
    expect(access).toMatch(/"GET \/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+ HTTP\/1\.1" 200 /);
    // nginx was started by the step, then reloaded by the deploy hook once certbot had the certificate.
    const calls = fs.readFileSync(path.join(dir, "systemctl.log"), "utf8").trim().split("\n");
    expect(calls.slice(0, 4)).toEqual(["systemctl reload-or-restart nginx", "systemctl is-enabled --quiet nginx", "systemctl enable --now nginx", "systemctl reload nginx"]);
});

test("the second run keeps the certificate and changes nothing", () => {
    expect(log()).toContain("second: exit 0");
    expect(logOf("second")).toMatch(/Certificate not yet due for renewal/);
    expect(logOf("second")).toMatch(/\[nginx\] result: unchanged\n$/);
    expect(fs.readdirSync(upper(`etc/letsencrypt/archive/${DOMAIN}`)).sort()).toEqual(["cert1.pem", "chain1.pem", "fullchain1.pem", "privkey1.pem"]);
});

test("renewal is set up: the lineage records the deploy hook, and certbot's own renew dry run passes against the CA", () => {
    const renewal = fs.readFileSync(upper(`etc/letsencrypt/renewal/${DOMAIN}.conf`), "utf8");
    expect(renewal).toMatch(/^renew_hook = \/usr\/local\/lib\/webapp\/certbot-deploy-hook$/m);
    expect(renewal).toMatch(/^authenticator = webroot$/m);
    expect(log()).toContain("renew: exit 0");
    expect(logOf("renew")).toMatch(/Congratulations, all simulated renewals succeeded/);
});
