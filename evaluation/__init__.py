"""Using a trained run: error figures, pictures, Kaggle submissions, faces in photos.

One concern per module: :mod:`evaluation.metrics` (RMSE in pixels, the
mean-keypoint baseline), :mod:`evaluation.pictures` (faces with keypoints,
charts), :mod:`evaluation.submission` (Kaggle's ``IdLookupTable.csv`` ->
``submission.csv``), :mod:`evaluation.faces_in_photo` (find, crop and map
back faces of an ordinary photo), :mod:`evaluation.run_report` (the pictures
and error table of a run folder). ``predict.py`` is the command line.
"""
