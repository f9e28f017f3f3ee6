"""Tools on top of the models: released-checkpoint converters
(:mod:`~backbones.tools.converters`) and reconstruction pictures
(:mod:`~backbones.tools.reconstruction`). Nothing in the engine, the
masks or the models imports from here."""
