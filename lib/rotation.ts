/**
 * Deterministic secret rotation (SEC-4). A secret's generation is the number of whole rotation periods since
 * the Unix epoch, so every run on the same day computes the same generation and a new one starts for everyone
 * at the same instant. Generations feed `RandomPassword.keepers`: a new generation replaces the password.
 */
const DAY_MS = 24 * 60 * 60 * 1000;

export function rotationGeneration(now: Date, periodDays: number): number {
    if (!Number.isInteger(periodDays) || periodDays < 1) {
        throw new RangeError(`rotation period must be a whole number of days >= 1, got ${periodDays}`);
    }
    return Math.floor(now.getTime() / DAY_MS / periodDays);
}

/** Start of the next generation: when the current secrets will be replaced. */
export function nextRotation(now: Date, periodDays: number): Date {
    return new Date((rotationGeneration(now, periodDays) + 1) * periodDays * DAY_MS);
}

/**
 * Two-slot rotation for encryption keys, so that the previous key stays available for decryption. Slot "a"
 * changes on odd generations, slot "b" on even ones; the slot that changed last is the current key and the other
 * holds the previous one. Each slot's keeper only changes when that slot rotates, so the previous key keeps its
 * value across the rotation.
 */
export function dualSlotKeepers(generation: number): { a: number; b: number; current: "a" | "b" } {
    return {
        a: Math.floor((generation + 1) / 2),
        b: Math.floor(generation / 2),
        current: generation % 2 === 1 ? "a" : "b",
    };
}
