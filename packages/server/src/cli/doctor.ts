/** lipsync doctor: which device this machine can run on, and what is missing for CUDA. */
import { doctor as examine, formatReport } from "../gpu/doctor.js";
import type { Command } from "./options.js";

export const doctor: Command = {
  name: "doctor",
  summary: "check the runtime, GPU, CUDA/cuDNN libraries and execution providers",
  options: [{ name: "json", description: "print the report as one JSON object" }],
  notes: "Exits 0 when some device is usable (the report says which to pass to --device), 1 when none is.",
  async run(values) {
    const report = await examine();
    process.stdout.write(values.json ? JSON.stringify(report) + "\n" : formatReport(report));
    if (!report.cpu.usable && !report.cuda.usable) process.exitCode = 1;
  },
};
