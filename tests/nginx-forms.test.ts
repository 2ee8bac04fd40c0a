/**
 * TLS-2, TLS-3 and PX-2 judge nginx and OpenSSL syntax the way the real tools resolve it. These tests hold the policies'
 * resolution against the tools themselves: the protocols a real nginx (inside Debian's nginx.conf, on loopback)
 * completes a handshake with, the suites `openssl ciphers` expands a cipher string to, and the location a real
 * nginx answers a request from.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { directive, directives, parseNginx } from "../policies/parse";
import { DEBIAN_NGINX_HTTP, matchLocation, offeredProtocols, weakCiphers } from "../policies/proxy";
import { debianNginxConf, freePort, RunningNginx, selfSignedCert, startNginx } from "./support/nginx";

test("Debian's nginx.conf sets the http-level ssl_protocols the policy assumes", () => {
    const http = directive(parseNginx(fs.readFileSync("/etc/nginx/nginx.conf", "utf8")), "http")!.block!;
    expect(directives(http, "ssl_protocols").map((d) => d.args)).toEqual(directives(parseNginx(DEBIAN_NGINX_HTTP), "ssl_protocols").map((d) => d.args));
});

/** Whether a real client completes a handshake with one protocol version (old ones need OpenSSL's level 0). */
function handshakes(port: number, version: "tls1" | "tls1_1" | "tls1_2"): boolean {
    const res = spawnSync("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, `-${version}`, "-cipher", "DEFAULT@SECLEVEL=0"], { input: "", encoding: "utf8", timeout: 10000 });
    return /^\s*Protocol\s*:\s*TLSv1/m.test(res.stdout) && !/Cipher is \(NONE\)/.test(res.stdout);
}

describe("TLS-2: the protocols nginx offers are the ones the policy computes", () => {
    // Each case: the http-level lines of a conf.d file, and the server-level lines. Ciphers at OpenSSL's level 0
    // so that only the protocol settings decide.
    const cases: [string, string, string][] = [
        ["server-level TLSv1.2 TLSv1.3", "", "ssl_protocols TLSv1.2 TLSv1.3;"],
        ["conf.d-level TLSv1.2 TLSv1.3, ORed with Debian's nginx.conf", "ssl_protocols TLSv1.2 TLSv1.3;", ""],
        ["two server-level directives, ORed", "", "ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_protocols TLSv1.1;"],
        ["ssl_conf_command Protocol ALL after ssl_protocols", "", "ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_conf_command Protocol ALL;"],
        ["ssl_conf_command Protocol -TLSv1.1 on Debian's defaults", "ssl_conf_command Protocol -TLSv1.1;", ""],
        ["ssl_conf_command MinProtocol cannot widen", "", "ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_conf_command MinProtocol TLSv1;"],
    ];
    let dir: string;
    let cert: { fullchain: string; privkey: string };
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-forms-"));
        cert = selfSignedCert(dir, ["tls.test"]);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test.each(cases)("%s", async (_name, httpLevel, serverLevel) => {
        const root = fs.mkdtempSync(path.join(dir, "case-"));
        const conf = debianNginxConf(root);
        const port = await freePort();
        const server = `server {\n    listen 127.0.0.1:${port} ssl;\n    ssl_certificate ${cert.fullchain};\n    ssl_certificate_key ${cert.privkey};\n    ssl_ciphers DEFAULT@SECLEVEL=0;\n    ${serverLevel}\n    return 200 "ok";\n}\n`;
        fs.writeFileSync(path.join(root, "conf.d", "tls.conf"), `${httpLevel}\n`);
        fs.writeFileSync(path.join(root, "sites-enabled", "tls"), server);
        const judged = offeredProtocols(directive(parseNginx(server), "server")!, [...parseNginx(DEBIAN_NGINX_HTTP), ...parseNginx(httpLevel)]);
        let nginx: RunningNginx | undefined;
        try {
            nginx = await startNginx(conf, port);
            const real = { "TLSv1": handshakes(port, "tls1"), "TLSv1.1": handshakes(port, "tls1_1"), "TLSv1.2": handshakes(port, "tls1_2") };
            expect(real["TLSv1.2"]).toBe(true);
            expect({ "TLSv1": judged?.has("TLSv1") ?? false, "TLSv1.1": judged?.has("TLSv1.1") ?? false, "TLSv1.2": judged?.has("TLSv1.2") ?? false }).toEqual(real);
        } finally {
            await nginx?.stop();
        }
    });
});

describe("TLS-3: a cipher string passes exactly when OpenSSL expands it to ECDHE with AEAD only", () => {
    const strings = [
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:@SECLEVEL=2",
        "EECDH+AESGCM",
        "ECDHE+AESGCM:ECDHE+AES256",
        "HIGH:!aNULL:!MD5",
        "DEFAULT",
        "ECDHE-RSA-AES128-SHA",
        "kECDHE+AESGCM",
        "ECDHE",
        "kECDHE+CHACHA20:ECDHE+AES128",
        "ECDHE-RSA-AES256-GCM-SHA384:AES256-GCM-SHA384",
    ];
    /** TLS 1.2 suites OpenSSL selects for a string (TLS 1.3 suites are always AEAD and set apart by Ciphersuites). */
    const tls12Suites = (spec: string) =>
        spawnSync("openssl", ["ciphers", "-v", spec], { encoding: "utf8" })
            .stdout.split("\n")
            .filter((l) => l && !/\bTLSv1\.3\b/.test(l))
            .map((l) => Object.fromEntries(l.trim().split(/\s+/).slice(2).map((kv) => kv.split("="))) as Record<string, string>);

    test.each(strings)("%s", (spec) => {
        const suites = tls12Suites(spec);
        expect(suites.length).toBeGreaterThan(0);
        const strong = suites.every((s) => s.Kx === "ECDH" && s.Au !== "None" && /^(AESGCM|CHACHA20\/POLY1305)\(/.test(s.Enc));
        expect(weakCiphers(spec).length === 0).toBe(strong);
    });
});

describe("PX-2: the location nginx picks for a URI is the one the policy computes", () => {
    // Location sets in the shapes the forms use; each location answers with its own index.
    const sets: [string, string[]][] = [
        ["the rendered site", ["~ /\\.", "= /login", "/api/", "/uploads/", "/"]],
        ["a ^~ prefix before the dotfile regex", ["~ /\\.", "^~ /static/", "/api/", "/"]],
        ["an earlier regex", ["~ \\.(env|php)$", "~ /\\.", "/"]],
        ["a case-insensitive regex with a lookahead", ["~* /\\.(?!well-known)", "/.well-known/", "/"]],
        ["an exact match and a longer prefix", ["= /.env", "/api/v1/", "/api/", "~ /\\.", "/"]],
    ];
    const uris = ["/.env", "/.git/config", "/api/.env", "/uploads/.htaccess", "/static/.git/HEAD", "/STATIC/.Git", "/login", "/api/v1/x", "/.well-known/acme", "/x.php"];
    let dir: string;
    beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "px2-forms-"))));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test.each(sets)("%s", async (_name, locs) => {
        const root = fs.mkdtempSync(path.join(dir, "case-"));
        const conf = debianNginxConf(root);
        const port = await freePort();
        const server = `server {\n    listen 127.0.0.1:${port};\n${locs.map((l, i) => `    location ${l} {\n        return 200 "${i}";\n    }\n`).join("")}}\n`;
        fs.writeFileSync(path.join(root, "sites-enabled", "px2"), server);
        const parsed = directive(parseNginx(server), "server")!;
        let nginx: RunningNginx | undefined;
        try {
            nginx = await startNginx(conf, port);
            for (const uri of uris) {
                const res = await fetch(`http://127.0.0.1:${port}${uri}`);
                const real = res.status === 200 ? Number(await res.text()) : undefined;
                const judged = matchLocation(parsed, uri);
                expect([uri, judged ? directives(parsed.block, "location").indexOf(judged) : undefined]).toEqual([uri, real]);
            }
        } finally {
            await nginx?.stop();
        }
    });
});
