/*
 * `npm test`'s closing table (scripts/test-all.sh): per suite its tests (passed, failed, skipped) and wall time,
 * the end-to-end suite also per file, its tests of 15 s or more and its set-up, from jest's JSON results and the
 * wall times the script recorded; then the totals as one `tests: N passed, N failed` line. Plain JavaScript: it
 * runs after the suites, with nothing loaded.
 *
 * usage: node scripts/test-times.js <results dir> <total seconds>
 */
"use strict";
const fs = require("fs");
const path = require("path");

const [dir, total] = process.argv.slice(2);
const read = (f) => (fs.existsSync(path.join(dir, f)) ? JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) : undefined);
const rows = [];
/** An end-to-end test is listed on its own from this long. */
const SLOW_TEST_MS = 15_000;
const clip = (title) => (title.length > 60 ? `${title.slice(0, 59)}…` : title);
const sums = { passed: 0, failed: 0, skipped: 0 };

for (const name of ["typecheck", "unit", "engine", "e2e"]) {
    const time = read(`${name}.time`);
    if (!time) continue;
    const jest = read(`${name}.json`);
    if (!jest) {
        rows.push([name, "", "", "", "", String(time.seconds), time.exit === 0 ? "ok" : `exit ${time.exit}`]);
        continue;
    }
    const skipped = jest.numPendingTests + jest.numTodoTests;
    sums.passed += jest.numPassedTests;
    sums.failed += jest.numFailedTests;
    sums.skipped += skipped;
    rows.push([name, String(jest.numTotalTestSuites), String(jest.numPassedTests), String(jest.numFailedTests), String(skipped), String(time.seconds), time.exit === 0 ? "ok" : `exit ${time.exit}`]);
    if (name === "e2e") {
        for (const file of jest.testResults) {
            const count = (s) => file.assertionResults.filter((a) => a.status === s).length;
            const seconds = Math.round((file.endTime - file.startTime) / 1000);
            rows.push([`  ${path.relative(process.cwd(), file.name)}`, "", String(count("passed")), String(count("failed")), String(count("pending") + count("todo")), String(seconds), file.status === "passed" ? "ok" : file.status]);
            // Where a file's minutes go: its slow tests, and the rest (its beforeAll/afterAll: boots, the converge).
            const slow = file.assertionResults.filter((a) => (a.duration ?? 0) >= SLOW_TEST_MS);
            for (const a of slow) rows.push([`    ${clip(a.title)}`, "", "", "", "", String(Math.round(a.duration / 1000)), a.status === "passed" ? "ok" : a.status]);
            const inTests = file.assertionResults.reduce((sum, a) => sum + (a.duration ?? 0), 0);
            rows.push(["    set-up and tear-down", "", "", "", "", String(Math.max(0, Math.round((file.endTime - file.startTime - inTests) / 1000))), ""]);
        }
    }
}

const header = ["suite", "files", "passed", "failed", "skipped", "seconds", "status"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
process.stdout.write(["", line(header), ...rows.map(line), `${"wall time".padEnd(widths[0])}  ${total} s`, "", `tests: ${sums.passed} passed, ${sums.failed} failed${sums.skipped ? `, ${sums.skipped} skipped` : ""}`, ""].join("\n"));
