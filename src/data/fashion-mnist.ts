/**
 * Fashion-MNIST (Zalando, MIT license): 60k train + 10k test 28x28 grayscale images in 10 classes.
 * Checksums: `sha256` is of the published .gz files (MD5s match the ones in zalandoresearch/fashion-mnist's
 * README); `rawSha256` is of the decompressed IDX data, which is what Debian's recompressed copies
 * (package dataset-fashion-mnist) are checked against.
 */
import type { DatasetSplits } from './dataset.js';
import { loadNamedIdx, type NamedIdxDataset, type NamedIdxOptions } from './named-idx.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const FASHION_MNIST: NamedIdxDataset = {
  name: 'fashion-mnist',
  classes: FASHION_MNIST_CLASSES,
  // The S3 website endpoint has no HTTPS; integrity comes from the pinned SHA-256 either way.
  mirrors: [
    'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  ],
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  files: {
    trainImages: {
      file: 'train-images-idx3-ubyte.gz',
      sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
      rawSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    },
    trainLabels: {
      file: 'train-labels-idx1-ubyte.gz',
      sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
      rawSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    },
    testImages: {
      file: 't10k-images-idx3-ubyte.gz',
      sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
      rawSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    },
    testLabels: {
      file: 't10k-labels-idx1-ubyte.gz',
      sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
      rawSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    },
  },
};

export function loadFashionMnist(opts: NamedIdxOptions = {}): Promise<DatasetSplits> {
  return loadNamedIdx(FASHION_MNIST, opts);
}
