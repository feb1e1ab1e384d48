/** Structure-aware fuzzing of QEMU migration streams: mutator, codec campaign, QEMU campaign. */
export { Prng } from './prng.js';
export { loadSeed, seedFromBytes, seedLabel, readTarget, type Seed, type MainSeed, type MultifdSeed, type ReturnPathSeed, type SeedChannel, type SeedTarget, type LoadSeedOptions } from './seed.js';
export { reduceSeed, type ReduceOptions } from './reduce.js';
export { MUTATION_KINDS, BYTE_LEVEL_KINDS, isMutationKind, kindsFor, type Mutant, type Mutation, type MutationKind, type MutationValue, type Mutator } from './mutation.js';
export { MUTATORS, mutate, usableKinds, type MutateOptions } from './mutate.js';
export { writeFixtures, MANIFEST_FORMAT, type Manifest, type FixtureEntry, type WriteFixturesOptions } from './manifest.js';
export { minimise, mainPieces, type Piece, type MinimiseResult } from './minimise.js';
export { runCodecRange, type CodecStats, type CodecFinding, type DecoderStats } from './codec/campaign.js';
export { runCodecCampaign, type CodecCampaignOptions } from './codec/supervisor.js';
export { defaultSeedSpecs, prepareSeeds, type CodecSeed, type SeedSpec } from './codec/seeds.js';
export { loadInQemu, reproductionCommand, qemuMessage, type QemuOutcome, type QemuOutcomeClass, type LoadOptions } from './qemu/load.js';
export { runQemuCampaign, OUTCOMES, type QemuCampaignOptions, type QemuCampaignReport, type QemuInputResult } from './qemu/campaign.js';
export { codecReportLines, qemuReportLines } from './report.js';
