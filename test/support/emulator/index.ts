/**
 * The emulator as tests and the bench start it: the shipped one (src/emulator/, what --demo
 * runs) with the fault engine and, when asked, the admin routes, which only they need.
 */
import {
  type Emulator as CoreEmulator,
  type EmulatorOptions as CoreEmulatorOptions,
  startEmulator as startCoreEmulator,
} from '../../../src/emulator/index.ts';
import { adminRoutes } from './admin.ts';
import { FaultEngine, type Faults } from './faults.ts';

export * from '../../../src/emulator/index.ts';
export type { Faults } from './faults.ts';

export interface EmulatorOptions extends Omit<CoreEmulatorOptions, 'faults' | 'admin'> {
  faults?: Faults;
  /** Serve the `/__emulator/*` routes (admin.ts); default false. */
  admin?: boolean;
}

export interface Emulator extends CoreEmulator {
  setFaults(faults: Faults): void;
  /** The faults in force. */
  readonly faults: Faults;
  /** Calls each rule of `faults.drive` has counted (matched its route and files) so far. */
  driveRuleCalls(): number[];
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const engine = new FaultEngine();
  engine.set(options.faults ?? {});
  const { faults: _faults, admin, ...rest } = options;
  let emulator: Emulator | undefined;
  const core = await startCoreEmulator({
    ...rest,
    faults: engine,
    ...(admin ? { admin: (req, res, url) => adminRoutes(req, res, url, emulator as Emulator) } : {}),
  });
  emulator = Object.defineProperties(core as Emulator, {
    setFaults: { value: (next: Faults) => engine.set(next) },
    driveRuleCalls: { value: () => engine.driveRuleCalls() },
    faults: { get: () => engine.faults },
  });
  return emulator;
}
