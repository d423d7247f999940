"""Charts as SVG text: drawn with presentation attributes only (no ``style`` attribute, no ``<style>``,
no script), so the same markup renders under the screens' Content Security Policy and in WeasyPrint's
PDFs. Pure functions of their data; no database."""
