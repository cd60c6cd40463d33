"""``cnnlib.viz``: figures, diagrams, animations and widgets for the book.

* :mod:`~cnnlib.viz.plotting`: images, kernels, training curves, decision boundaries,
  confusion matrices;
* :mod:`~cnnlib.viz.diagrams`: drawings of networks;
* :mod:`~cnnlib.viz.architecture`: drawings of convolutional networks (feature maps);
* :mod:`~cnnlib.viz.animate`: step-by-step pictures of a convolution;
* :mod:`~cnnlib.viz.widgets`: interactive explorers (ipywidgets) over cnnlib functions.

Nothing here imports matplotlib or ipywidgets until a function is called, so importing
a submodule stays light.
"""
