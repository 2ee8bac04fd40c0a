/**
 * `npm test`'s closing table (scripts/test-times.js) from jest JSON results written into a temporary directory: the
 * counts it sums, the end-to-end file's slow tests and its set-up, and a suite that never wrote its JSON.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "./helpers";

const script = path.join(__dirname, "..", "scripts", "test-times.js");

function table(files: Record<string, unknown>, total: number): { status: number | null; lines: string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-times-"));
    for (const [name, value] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
    const res = run("node", [script, dir, String(total)]);
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: res.status, lines: res.stdout.split("\n").map((l) => l.replace(/\s+/g, " ").trim()) };
}

const e2eFile = path.join(process.cwd(), "tests", "e2e.test.ts");
const results = (passed: number, failed: number, testResults: unknown[] = []) => ({ numTotalTestSuites: Math.max(1, testResults.length), numPassedTests: passed, numFailedTests: failed, numPendingTests: 0, numTodoTests: 0, testResults });

test("the table sums each suite, lists the e2e file's slow tests and the time outside them", () => {
    const { status, lines } = table(
        {
            "typecheck.time": { suite: "typecheck", seconds: 16, exit: 0 },
            "unit.time": { suite: "unit", seconds: 465, exit: 0 },
            "unit.json": results(1259, 0),
            "e2e.time": { suite: "e2e", seconds: 1200, exit: 1 },
            "e2e.json": results(2, 1, [
                {
                    name: e2eFile,
                    startTime: 1_000,
                    endTime: 1_101_000,
                    status: "failed",
                    assertionResults: [
                        { title: "after a reboot every service comes back", duration: 95_400, status: "passed" },
                        { title: "a quick one", duration: 14_999, status: "passed" },
                        { title: "eleven hand changes", duration: 300_000, status: "failed" },
                    ],
                },
            ]),
        },
        1300,
    );
    expect(status).toBe(0);
    expect(lines).toEqual(
        expect.arrayContaining([
            "typecheck 16 ok",
            "unit 1 1259 0 0 465 ok",
            "e2e 1 2 1 0 1200 exit 1",
            "tests/e2e.test.ts 2 1 0 1100 failed",
            "after a reboot every service comes back 95 ok",
            "eleven hand changes 300 failed",
            "set-up and tear-down 690",
            "wall time 1300 s",
            "tests: 1261 passed, 1 failed",
        ]),
    );
    expect(lines.some((l) => l.startsWith("a quick one"))).toBe(false);
});

test("a suite that wrote no JSON (it did not start) is listed with its exit status and counts nothing", () => {
    const { lines } = table({ "typecheck.time": { suite: "typecheck", seconds: 20, exit: 2 } }, 20);
    expect(lines).toEqual(expect.arrayContaining(["typecheck 20 exit 2", "tests: 0 passed, 0 failed"]));
});
