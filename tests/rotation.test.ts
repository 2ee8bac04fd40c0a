import { dualSlotKeepers, nextRotation, rotationGeneration } from "../lib/rotation";

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
