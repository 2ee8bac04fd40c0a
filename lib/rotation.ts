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
    return generationEnd(rotationGeneration(now, periodDays), periodDays);
}

/** When a generation ends, that is when the one after it starts. */
export function generationEnd(generation: number, periodDays: number): Date {
    return new Date((generation + 1) * periodDays * DAY_MS);
}

/** The environment variable that pins the generation (see {@link pinnedGeneration}). */
export const PIN_VARIABLE = "WEBAPP_ROTATION_GENERATION";

/**
 * A pinned generation, for a drift check that compares at the generation of the last deploy, so that a rotation
 * that fell due since is reported as a planned change, not as drift. Unset: undefined (the clock decides). A pin
 * must be a whole number and not in the future: it can hold a rotation back for one check, never bring one forward.
 */
export function pinnedGeneration(value: string | undefined, now: Date, periodDays: number): number | { error: string } | undefined {
    if (value === undefined || value.trim() === "") return undefined;
    const current = rotationGeneration(now, periodDays);
    if (!/^\d+$/.test(value.trim())) return { error: `${PIN_VARIABLE}=${value} is not a generation (a whole number, e.g. ${current}, as \`pulumi stack output secretRotationGeneration\` prints it)` };
    const pinned = Number(value.trim());
    if (pinned > current) return { error: `${PIN_VARIABLE}=${pinned} is in the future: the current generation is ${current}; unset it, or pin a past deploy's generation` };
    return pinned;
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
