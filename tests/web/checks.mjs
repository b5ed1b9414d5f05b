// checks.mjs - the one runner of the tests/web suites: each test is a
// function returning the list of problems it found (empty = passed), so a
// test reports every problem at once instead of stopping at the first.
// Prints the gtest-like lines tests/run.py and the other suites print, and
// ends the process with 1 when a test failed.

export function runChecks(tests) {
  const names = Object.keys(tests);
  const failed = [];
  console.log(`[==========] Running ${names.length} test(s).`);
  for (const name of names) {
    console.log(`[ RUN      ] ${name}`);
    let problems;
    try { problems = tests[name](); } catch (e) { problems = [`threw ${e.stack || e}`]; }
    for (const p of problems.slice(0, 20)) console.log(`    ${p}`);
    if (problems.length) {
      failed.push(name);
      console.log(`[  FAILED  ] ${name}`);
    } else console.log(`[       OK ] ${name}`);
  }
  console.log(`[==========] ${names.length} test(s) run.`);
  console.log(`[  PASSED  ] ${names.length - failed.length} test(s).`);
  if (failed.length) {
    console.log(`[  FAILED  ] ${failed.length} test(s), listed below:`);
    for (const f of failed) console.log(`[  FAILED  ] ${f}`);
  }
  process.exit(failed.length ? 1 : 0);
}
