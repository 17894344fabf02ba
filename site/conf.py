"""Sphinx configuration for the dggbook static site (`make site` -> build/site/index.html).

The notebooks are rendered from their STORED outputs (myst-nb, execution off).
Nothing is fetched at build or view time: MathJax 3 comes from the
django-static-mathjax wheel, plotly.js from the plotly wheel, both copied into
_static/ by the `dggbook_site` extension (site/_ext/dggbook_site.py), which
also writes the filtered notebook copies under site/notebooks/ (generated).

The site is the STUDENT site by default: every notebook page is the student copy that `make course` hands out
(no solution code, outputs or prose answers) and links the student .ipynb. DGGBOOK_SITE_SOLUTIONS=1
(`make site SOLUTIONS=1`) builds the lecturer's site: the solution notebooks, each solution behind a closed
"Show the solution" control. Warnings fail the build (`make site` runs sphinx-build -W --keep-going).
"""
import os
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent
sys.path.insert(0, str(SITE / "_ext"))

project = "dggbook"
author = "dggbook authors"
copyright = "dggbook authors, MIT licence"

extensions = [
    "myst_nb",                      # .ipynb + MyST markdown (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "dggbook_site",                 # notebook filter, offline MathJax/plotly, the checks table
]

# the lecturer's build: solutions shown, collapsed (read as dggbook.environment.env_flag reads its flags)
dggbook_solutions = os.environ.get("DGGBOOK_SITE_SOLUTIONS", "").strip().lower() not in ("", "0", "false", "no")

root_doc = "index"
exclude_patterns = ["_build", "_generated_static", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- notebooks: stored outputs only --------------------------------------------------------
nb_execution_mode = "off"
nb_ipywidgets_js = {}               # never load require.js / widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image", "html_admonition"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# --- API pages ---------------------------------------------------------------------------
autosummary_generate = True
napoleon_use_ivar = True            # "Attributes:" as fields; as directives they repeat autodoc's (duplicate warnings)
autodoc_default_options = {
    "members": True, "undoc-members": False, "show-inheritance": True,
    # scikit-learn's generated metadata-routing methods: their docstrings point into sklearn's docs
    "exclude-members": "set_fit_request,set_predict_request,set_score_request,set_transform_request,"
                       "set_output,set_params,get_params,get_metadata_routing",
}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports = []

# --- MathJax: local copy (set by dggbook_site: mathjax_path = "mathjax/tex-mml-chtml.js") -------
mathjax3_config = {
    "tex": {"tags": "none"},
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

# --- HTML ---------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "dggbook"
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_static_path = []               # dggbook_site appends _generated_static
html_extra_path = ["_generated_extra"]   # the original notebooks, linked from each page
html_theme_options = {
    "use_download_button": False,   # each notebook page links its own .ipynb instead
    "use_fullscreen_button": True,
    "use_repository_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_context = {"default_mode": "light"}
