// MathJax 3 configuration for the whole site (loaded before MathJax itself).
// Markdown pages: pymdownx.arithmatex (generic) wraps math in .arithmatex as \( \) and \[ \].
// Notes: nbconvert leaves $...$ and $$...$$ in the rendered Markdown cells (mkdocs-jupyter #227),
// so those containers are typeset too. Only these containers are typeset, so a stray "$" in other
// page text is never taken for math.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  svg: { fontCache: "global" },
  options: { ignoreHtmlClass: "tex2jax_ignore" },
  startup: {
    typeset: false,
    pageReady: () => llmrecTypeset(),
  },
};

const LLMREC_MATH = ".arithmatex, .jp-RenderedMarkdown, .jp-RenderedLatex";

function llmrecTypeset() {
  const mj = window.MathJax;
  if (!mj || !mj.typesetPromise) return Promise.resolve();  // MathJax not loaded yet: pageReady will run
  const targets = Array.from(document.querySelectorAll(LLMREC_MATH));
  if (!targets.length) return Promise.resolve();
  mj.typesetClear();
  mj.texReset();
  return mj.typesetPromise(targets);
}

// Material's instant navigation swaps page content without reloading scripts.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => llmrecTypeset());
}
