"""``cnnlib.viz``: figures, diagrams, animations and interactive figures for the book.

* :mod:`~cnnlib.viz.plotting`: images, kernels, training curves, decision boundaries,
  confusion matrices;
* :mod:`~cnnlib.viz.diagrams`: drawings of networks;
* :mod:`~cnnlib.viz.blocks`: multi-channel inputs and filters drawn as blocks;
* :mod:`~cnnlib.viz.animate`: step-by-step pictures of a convolution;
* :mod:`~cnnlib.viz.interactive`: ``slider_figure``, the one way to write an
  interactive figure (live sliders in JupyterLab, frames drawn in advance on the
  website), built on :mod:`~cnnlib.viz.player`;
* :mod:`~cnnlib.viz.widgets`: the chapter 5 explorers (kernels, padding and stride);
* :mod:`~cnnlib.viz.source`: ``show_source``, cnnlib's own code shown in the book.

Nothing here imports matplotlib or ipywidgets until a function is called, so importing
a submodule stays light.
"""
