// Helpers every page in views/ uses; scripts/build-views.mjs puts them where a page says /*SHARED*/.

/** Bytes as B, KiB, MiB …; a missing count as a dash. */
const fmtBytes = (n) => {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
};
