"""The run report: one self-contained HTML file per run under the project's `reports/` folder (metrics per split,
plots of the test predictions, tuning trials, permutation feature importance, the data schema), made from what the
run wrote, through the backend's SageMaker client and storage, so the same code reports local and AWS runs.

`collect` gathers the run's data into a `RunReport` (`model_chain` serves the model through the project's own
handlers for it), `plots` draws figures as inline SVG, `render` writes the page, `writer` saves it, `cli` holds the
command. Nothing heavy is imported here: the command line imports `cli` at startup.
"""
