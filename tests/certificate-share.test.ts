/**
 * The fleet's certificate receive command (lib/render/certbot.ts `renderReceiveScript`) run by the real bash,
 * tar and openssl: what it installs, what it refuses, and that an unchanged certificate changes nothing. nginx and
 * systemctl are stand-ins on PATH that record their calls; the TLS directory is a temporary one.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderReceiveScript } from "../lib/render/certbot";

const DOMAIN = "app.example.com";
let dir: string;
let tls: string;
let script: string;
let calls: string;

const sh = (cmd: string, cwd = dir) => {
    const res = spawnSync("bash", ["-c", cmd], { cwd, encoding: "utf8" });
    if (res.status !== 0) throw new Error(`${cmd}: ${res.stderr}`);
    return res.stdout;
};

/** A key and a certificate for `names`; `expired` makes one that ran out yesterday (signed by a throwaway CA). */
function certificate(name: string, names: string[], o: { expired?: boolean } = {}): { cert: string; key: string } {
    const key = path.join(dir, `${name}.key`);
    const cert = path.join(dir, `${name}.pem`);
    const san = names.map((n) => `DNS:${n}`).join(",");
    if (!o.expired) {
        sh(`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=${names[0]} -addext subjectAltName=${san} -keyout ${key} -out ${cert} 2>/dev/null`);
        return { cert, key };
    }
    const ca = path.join(dir, `${name}-ca`);
    fs.mkdirSync(ca);
    fs.writeFileSync(path.join(ca, "index.txt"), "");
    fs.writeFileSync(path.join(ca, "serial"), "01\n");
    fs.writeFileSync(
        path.join(ca, "ca.cnf"),
        ["[ca]", "default_ca = d", "[d]", `dir = ${ca}`, "database = $dir/index.txt", "serial = $dir/serial", "new_certs_dir = $dir", "default_md = sha256", "policy = p", "copy_extensions = copy", "[p]", "commonName = supplied", ""].join("\n"),
    );
    sh(`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=test-ca -keyout ${ca}/ca.key -out ${ca}/ca.pem 2>/dev/null`);
    sh(`openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=${names[0]} -addext subjectAltName=${san} -keyout ${key} -out ${ca}/req.csr 2>/dev/null`);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
    const before = new Date(Date.now() - 10 * 86_400_000).toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
    sh(`openssl ca -batch -config ${ca}/ca.cnf -cert ${ca}/ca.pem -keyfile ${ca}/ca.key -startdate ${before} -enddate ${yesterday} -in ${ca}/req.csr -out ${cert} 2>/dev/null`);
    return { cert, key };
}

/** Pushes a tar of the files (named as the receiving side expects, plus extras) into the receive command. */
function receive(files: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const stage = fs.mkdtempSync(path.join(dir, "stage-"));
    for (const [name, from] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(stage, name)), { recursive: true });
        fs.copyFileSync(from, path.join(stage, name));
    }
    const tar = spawnSync("tar", ["-C", stage, "-cf", "-", ...Object.keys(files)]).stdout;
    const res = spawnSync("bash", [script], { input: tar, encoding: "utf8", env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` } });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const installed = () => ["fullchain.pem", "privkey.pem"].map((f) => (fs.existsSync(path.join(tls, f)) ? fs.readFileSync(path.join(tls, f), "utf8") : ""));
const reloads = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").split("\n").filter((l) => l.startsWith("systemctl reload")).length : 0);

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cert-share-"));
    tls = path.join(dir, "tls");
    fs.mkdirSync(tls);
    calls = path.join(dir, "calls");
    fs.mkdirSync(path.join(dir, "bin"));
    for (const tool of ["nginx", "systemctl"]) fs.writeFileSync(path.join(dir, "bin", tool), `#!/bin/sh\necho "${tool} $*" >> ${calls}\n`, { mode: 0o755 });
    script = path.join(dir, "tls-receive");
    fs.writeFileSync(script, renderReceiveScript({ appName: "webapp", domain: DOMAIN, dir: tls }), { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the receive command", () => {
    test("installs a valid certificate with its key, the key readable by root only, and reloads nginx", () => {
        const { cert, key } = certificate("good", [DOMAIN, `www.${DOMAIN}`]);
        const res = receive({ "fullchain.pem": cert, "privkey.pem": key });
        expect(res).toMatchObject({ status: 0, stdout: "tls-receive: installed\n" });
        expect(installed()).toEqual([fs.readFileSync(cert, "utf8"), fs.readFileSync(key, "utf8")]);
        expect((fs.statSync(path.join(tls, "privkey.pem")).mode & 0o777).toString(8)).toBe("600");
        expect(fs.readFileSync(calls, "utf8")).toBe("nginx -t -q\nsystemctl reload nginx\n");
    });

    test("the same certificate again changes nothing and reloads nothing", () => {
        const before = reloads();
        const res = receive({ "fullchain.pem": path.join(tls, "fullchain.pem"), "privkey.pem": path.join(tls, "privkey.pem") });
        expect(res).toMatchObject({ status: 0, stdout: "tls-receive: unchanged\n" });
        expect(reloads()).toBe(before);
    });

    test.each([
        ["a certificate for another domain", () => certificate("other", ["other.example.org"]), /does not name app\.example\.com/],
        ["a key that is not the certificate's", () => ({ cert: certificate("mismatch", [DOMAIN]).cert, key: certificate("stranger", [DOMAIN]).key }), /key does not match/],
        ["an expired certificate", () => certificate("expired", [DOMAIN], { expired: true }), /has expired/],
    ])("refuses %s and keeps the current one", (_name, make, message) => {
        const current = installed();
        const before = reloads();
        const { cert, key } = make();
        const res = receive({ "fullchain.pem": cert, "privkey.pem": key });
        expect(res.status).toBe(1);
        expect(res.stderr).toMatch(message);
        expect(installed()).toEqual(current);
        expect(reloads()).toBe(before);
    });

    test("takes only the two named files from the archive; a missing one is refused", () => {
        const { cert, key } = certificate("extra", [DOMAIN]);
        const res = receive({ "fullchain.pem": cert, "privkey.pem": key, "notes/privkey.pem": cert });
        expect(res).toMatchObject({ status: 0, stdout: "tls-receive: installed\n" });
        expect(installed()).toEqual([fs.readFileSync(cert, "utf8"), fs.readFileSync(key, "utf8")]);
        const current = installed();
        const missing = receive({ "fullchain.pem": certificate("lonely", [DOMAIN]).cert });
        expect(missing.status).not.toBe(0);
        expect(installed()).toEqual(current);
    });
});
