import * as path from "path";
import { dualSlotKeepers, nextRotation, pinnedGeneration, rotationGeneration } from "../lib/rotation";
import { run } from "./helpers";

describe("rotation (SEC-4)", () => {
    test("the generation is the number of whole periods since the epoch", () => {
        expect(rotationGeneration(new Date("1970-01-01T00:00:00Z"), 90)).toBe(0);
        expect(rotationGeneration(new Date("1970-03-31T23:59:59Z"), 90)).toBe(0);
        expect(rotationGeneration(new Date("1970-04-01T00:00:00Z"), 90)).toBe(1);
        expect(rotationGeneration(new Date("2026-11-23T12:00:00Z"), 30)).toBe(692);
    });

    test("every run within one period sees the same generation, and the next starts at nextRotation", () => {
        const now = new Date("2026-11-23T12:00:00Z");
        const next = nextRotation(now, 90);
        expect(next.toISOString()).toBe("2026-12-03T00:00:00.000Z");
        expect(rotationGeneration(new Date(next.getTime() - 1), 90)).toBe(rotationGeneration(now, 90));
        expect(rotationGeneration(next, 90)).toBe(rotationGeneration(now, 90) + 1);
    });

    test.each([0, -1, 1.5])("a period of %p days is refused", (days) => {
        expect(() => rotationGeneration(new Date(), days)).toThrow(/whole number of days >= 1/);
    });

    test("two slots: each rotation changes exactly one slot, and the old current becomes previous", () => {
        for (let g = 0; g < 20; g++) {
            const before = dualSlotKeepers(g);
            const after = dualSlotKeepers(g + 1);
            const changed = (["a", "b"] as const).filter((s) => before[s] !== after[s]);
            expect(changed).toEqual([after.current]);
            // the slot that was current keeps its keeper, so its value survives as the previous key
            expect(after[before.current]).toBe(before[before.current]);
            expect(after.current).not.toBe(before.current);
        }
    });
});

describe("a pinned generation (the drift check compares at the last deploy's)", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    test("unset or empty: the clock decides", () => {
        expect(pinnedGeneration(undefined, now, 90)).toBeUndefined();
        expect(pinnedGeneration(" ", now, 90)).toBeUndefined();
    });

    test("the current or a past generation is taken", () => {
        expect(rotationGeneration(now, 90)).toBe(230);
        expect(pinnedGeneration("230", now, 90)).toBe(230);
        expect(pinnedGeneration("229", now, 90)).toBe(229);
    });

    test.each([
        ["231", /WEBAPP_ROTATION_GENERATION=231 is in the future: the current generation is 230/],
        ["23x", /is not a generation \(a whole number, e\.g\. 230/],
        ["-1", /is not a generation/],
    ])("%p is refused", (value, message) => {
        expect(pinnedGeneration(value, now, 90)).toEqual({ error: expect.stringMatching(message) });
    });
});

test("npm run rotation prints a stack's generation now and when the next starts, for $GITHUB_OUTPUT", () => {
    const root = path.join(__dirname, "..");
    const res = run(process.execPath, [path.join(root, "node_modules", ".bin", "ts-node"), "--swc", "scripts/rotation.ts", "--stack", "prod"], { cwd: root });
    expect(res.status).toBe(0);
    const now = new Date();
    // Pulumi.prod.yaml: secretRotationDays 90.
    expect(res.stdout).toBe(`generation=${rotationGeneration(now, 90)}\nnext=${nextRotation(now, 90).toISOString()}\n`);
});
