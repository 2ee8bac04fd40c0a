/**
 * The generated secrets of the app and how each is generated (SEC-1, SEC-4). Pure data and functions; the
 * AppSecrets component turns them into resources.
 */

export type SecretSpec = {
    /** Logical name, used in resource names, Secrets Manager names and credential file names. */
    readonly id: "db-password" | "db-admin-password" | "app-secret-key" | "encryption-key";
    readonly description: string;
    /** Characters; SEC-1: >= 32, app secret keys >= 48. */
    readonly length: number;
    /** Two slots so the previous value stays readable after a rotation (SEC-4). */
    readonly dualSlot: boolean;
};

export const SECRET_SPECS: readonly SecretSpec[] = [
    { id: "db-password", description: "Password of the app's database role", length: 32, dualSlot: false },
    { id: "db-admin-password", description: "Master password of the RDS instance", length: 40, dualSlot: false },
    { id: "app-secret-key", description: "Secret key the app signs sessions and tokens with", length: 64, dualSlot: false },
    { id: "encryption-key", description: "Key the app encrypts data at rest with (current and previous)", length: 48, dualSlot: true },
];

/** Specials that survive URLs, shells and config files unquoted (RFC 3986 unreserved). */
export const SPECIAL_CHARACTERS = "-_.~";

/** The secrets a deployment needs: no database password with SQLite, an RDS master password only with RDS. */
export function secretSpecsFor(databaseEngine: "self-hosted" | "rds" | "sqlite"): SecretSpec[] {
    return SECRET_SPECS.filter((s) => (s.id === "db-password" ? databaseEngine !== "sqlite" : s.id === "db-admin-password" ? databaseEngine === "rds" : true));
}

/** `random.RandomPassword` arguments for a spec: full alphabet with every class present (SEC-1). */
export function passwordArgs(spec: SecretSpec, keepers: Record<string, string>) {
    return {
        length: spec.length,
        upper: true,
        lower: true,
        numeric: true,
        special: true,
        overrideSpecial: SPECIAL_CHARACTERS,
        minUpper: 2,
        minLower: 2,
        minNumeric: 2,
        minSpecial: 2,
        keepers,
    };
}
