/**
 * How a remote step carries values that exist only during the update: the script (known at preview) names them
 * by placeholder, the values arrive on stdin, and the host fills them in. Run for real with bash and sudo, as the
 * command provider runs a step's `create` over SSH; the rendered command and script pass shellcheck.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lateValue, parsePayload, placeholders, renderApplyScript, renderPayload, scriptOfCommand, secretValue, stepCommand } from "../lib/render/apply-script";
import { run } from "./helpers";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "values-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = (root: string) => ({
    name: "demo",
    values: ["db-host", "db-password"],
    files: [
        { path: `${root}/app.env`, content: `HOST=${lateValue("db-host")}\n` },
        { path: `${root}/secret`, content: secretValue("db-password"), mode: "0600" },
        { path: `${root}/plain.conf`, content: "plain = yes\n" },
    ],
});

/** Runs a step's command as the provider would: `sh -c <create>` with the payload on stdin. */
const runStep = (command: string, stdin: string, env: NodeJS.ProcessEnv = {}) => run("sh", ["-c", command], { input: stdin, env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...env } });

describe("placeholders and payload", () => {
    test("a payload round-trips any text, line breaks and quotes included", () => {
        const values = { "db-password": "p&w'\"$x\\n\nsecond line\n", "db-host": "db.internal" };
        expect(parsePayload(renderPayload(values))).toEqual(values);
        expect(renderPayload(values)).not.toContain("second line");
    });

    test("the script names what it needs; a placeholder without a value, or a value no file uses, is refused", () => {
        expect(placeholders(`a ${lateValue("x")} b ${secretValue("y")}`)).toEqual([{ kind: "value", name: "x" }, { kind: "secret", name: "y" }]);
        expect(() => renderApplyScript({ ...spec("/tmp/x"), values: ["db-host"] })).toThrow(/placeholders without a value: db-password/);
        expect(() => renderApplyScript({ ...spec("/tmp/x"), values: ["db-host", "db-password", "extra"] })).toThrow(/values no file uses: extra/);
        expect(() => lateValue("Bad Name")).toThrow(/value name must match/);
    });

    test("the command carries the script verbatim and nothing else", () => {
        const script = renderApplyScript(spec("/tmp/x"));
        const command = stepCommand(script);
        expect(scriptOfCommand(command)).toBe(script);
        expect(scriptOfCommand(`${command}\nrm -rf /`)).toBeUndefined();
        expect(() => stepCommand("echo\nPULUMI_STEP_SCRIPT\n")).toThrow(/contains the line/);
    });
});

describe("run for real (bash, sudo)", () => {
    const root = () => path.join(dir, "host");
    const command = () => stepCommand(renderApplyScript(spec(root())));
    const payload = renderPayload({ "db-host": "db.internal", "db-password": "s3cret 'with' $pecial\n" });

    test("the values are filled in on the host; the secret file is 0600; a rerun changes nothing; no temporary file stays", () => {
        const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
        const first = runStep(command(), payload, { TMPDIR: tmp });
        expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: "" });
        expect(first.stdout).toMatch(/\[demo\] result: changed\n$/);
        expect(fs.readFileSync(path.join(root(), "app.env"), "utf8")).toBe("HOST=db.internal\n");
        expect(fs.readFileSync(path.join(root(), "secret"), "utf8")).toBe("s3cret 'with' $pecial\n");
        expect((fs.statSync(path.join(root(), "secret")).mode & 0o777).toString(8)).toBe("600");
        const second = runStep(command(), payload, { TMPDIR: tmp });
        expect(second.stdout).toMatch(/unchanged .*app\.env\n.*unchanged .*secret\n.*unchanged .*plain\.conf\n.*result: unchanged\n$/s);
        expect(fs.readdirSync(tmp)).toEqual([]);
        // The secret is in no output line.
        expect(first.stdout + second.stdout).not.toContain("s3cret");
    });

    test("a new value changes only the file that names it", () => {
        const res = runStep(command(), renderPayload({ "db-host": "db2.internal", "db-password": "s3cret 'with' $pecial\n" }));
        expect(res.status).toBe(0);
        expect(res.stdout).toMatch(/changed .*app\.env\n/);
        expect(res.stdout).toMatch(/unchanged .*secret\n/);
    });

    test("a missing or unexpected value fails before any file is written", () => {
        const fresh = path.join(dir, "fresh");
        const cmd = stepCommand(renderApplyScript(spec(fresh)));
        const missing = runStep(cmd, renderPayload({ "db-host": "db.internal" }));
        expect(missing.status).toBe(1);
        expect(missing.stdout).toContain("[demo] value db-password missing on stdin");
        const extra = runStep(cmd, renderPayload({ "db-host": "h", "db-password": "p", other: "x" }));
        expect(extra.status).toBe(1);
        expect(extra.stdout).toContain("[demo] unexpected values on stdin");
        expect(fs.existsSync(fresh)).toBe(false);
    });

    test("the command, and the script with values, pass shellcheck", () => {
        const file = path.join(dir, "step.sh");
        fs.writeFileSync(file, renderApplyScript(spec(root())));
        expect(run("shellcheck", ["--shell=bash", "--severity=style", file]).stdout).toBe("");
        fs.writeFileSync(file, command());
        expect(run("shellcheck", ["--shell=sh", "--severity=style", file]).stdout).toBe("");
    });
});
