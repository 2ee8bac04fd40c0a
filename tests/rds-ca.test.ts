/**
 * The RDS CA bundle step: the real apply script with the rendered download lines runs curl against an HTTPS server
 * on loopback that serves a bundle, a broken bundle, or nothing, and installs only a good bundle.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { rdsCaScript } from "../components/database";
import { renderApplyScript } from "../lib/render/apply-script";
import { caBundleLines, rdsCaBundle } from "../lib/render/postgres";
import { run } from "./helpers";

let dir: string;
let server: https.Server;
let base: string;
let bundle: string;
const served: Record<string, string> = {};

/** Runs bash asynchronously (the HTTPS server lives in this process); by default curl trusts the test server's certificate. */
function bash(script: string, trustTestServer = true): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const env: NodeJS.ProcessEnv = { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...(trustTestServer ? { CURL_CA_BUNDLE: path.join(dir, "server.crt") } : {}) };
        const child = spawn("bash", ["-s"], { env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
        child.stdin.end(script);
    });
}

const step = (url: string, dest: string) => renderApplyScript({ name: "rds-ca", prepare: caBundleLines(url, dest), files: [] });

function selfSigned(name: string, cn: string): string {
    const res = run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", `/CN=${cn}`,
        "-addext", "subjectAltName=DNS:localhost", "-keyout", path.join(dir, `${name}.key`), "-out", path.join(dir, `${name}.crt`)]);
    if (res.status !== 0) throw new Error(res.stderr);
    return fs.readFileSync(path.join(dir, `${name}.crt`), "utf8");
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-ca-"));
    selfSigned("server", "localhost");
    bundle = selfSigned("ca-a", "Test RDS Root A") + selfSigned("ca-b", "Test RDS Root B");
    served["/global/global-bundle.pem"] = bundle;
    served["/broken.pem"] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    served["/page.html"] = "<html>maintenance</html>\n";
    server = https.createServer({ key: fs.readFileSync(path.join(dir, "server.key")), cert: fs.readFileSync(path.join(dir, "server.crt")) }, (req, res) => {
        const body = served[req.url ?? ""];
        res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/x-pem-file" });
        res.end(body ?? "not found");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
});

test("a good bundle is installed 0644, and a second run changes nothing", async () => {
    const dest = path.join(dir, "etc", "ssl", "rds", "global-bundle.pem");
    const first = await bash(step(`${base}/global/global-bundle.pem`, dest));
    expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: "" });
    expect(first.stdout).toContain(`[rds-ca] changed ${dest}`);
    expect(fs.readFileSync(dest, "utf8")).toBe(bundle);
    expect((fs.statSync(dest).mode & 0o777).toString(8)).toBe("644");
    const second = await bash(step(`${base}/global/global-bundle.pem`, dest));
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/\[rds-ca\] unchanged .*\n\[rds-ca\] result: unchanged\n$/);
    // The installed bundle verifies a certificate its CA issued, as libpq will.
    const leafKey = path.join(dir, "leaf.key");
    run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=db.example", "-keyout", leafKey, "-out", path.join(dir, "leaf.csr")]);
    run("openssl", ["x509", "-req", "-in", path.join(dir, "leaf.csr"), "-CA", path.join(dir, "ca-b.crt"), "-CAkey", path.join(dir, "ca-b.key"), "-CAcreateserial", "-days", "1", "-out", path.join(dir, "leaf.crt")]);
    expect(run("openssl", ["verify", "-CAfile", dest, path.join(dir, "leaf.crt")]).stdout).toContain("leaf.crt: OK");
});

test.each([
    ["a broken bundle", "/broken.pem", /is not a certificate bundle/],
    ["a page that is no bundle", "/page.html", /is not a certificate bundle/],
    ["a missing file (404)", "/gone.pem", /cannot download/],
])("%s fails the step and leaves the installed bundle as it was", async (_what, file, message) => {
    const dest = path.join(dir, "etc", "ssl", "rds", "global-bundle.pem");
    const before = fs.readFileSync(dest, "utf8");
    const res = await bash(step(`${base}${file}`, dest));
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(message);
    expect(fs.readFileSync(dest, "utf8")).toBe(before);
    expect(fs.readdirSync(path.dirname(dest))).toEqual(["global-bundle.pem"]);
});

test("a server whose certificate curl does not trust is refused", async () => {
    const res = await bash(step(`${base}/global/global-bundle.pem`, path.join(dir, "other", "bundle.pem")), false);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/cannot download/);
    expect(fs.existsSync(path.join(dir, "other", "bundle.pem"))).toBe(false);
});

test("the program's step downloads Amazon's global bundle over HTTPS and passes shellcheck; bad URLs are refused", () => {
    const script = renderApplyScript(rdsCaScript());
    expect(script).toContain(`'${rdsCaBundle.url}'`);
    expect(rdsCaBundle.url).toBe("https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem");
    const file = path.join(dir, "rds-ca.sh");
    fs.writeFileSync(file, script);
    expect(run("shellcheck", ["--severity=style", file]).stdout).toBe("");
    expect(() => caBundleLines("http://example.com/b.pem", "/etc/x.pem")).toThrow(/not an https URL/);
    expect(() => caBundleLines("https://example.com/b.pem'; rm -rf /", "/etc/x.pem")).toThrow(/not an https URL/);
    expect(() => caBundleLines("https://example.com/b.pem", "etc/x.pem")).toThrow(/not an absolute path/);
});
