/** One figure of the bench: what run.ts prints and writes, and what takeout.ts measures. */
export interface Row {
  figure: string;
  unit: 's' | 'MB';
  photoBackup: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  note?: string;
  runs?: { photoBackup: number[]; baseline: number[] };
}
