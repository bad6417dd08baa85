// Issues a VC 2.0 credential with a bbs-2023 base proof signed by a fresh
// did:key BLS12-381 G2 key, using Digital Bazaar's libraries.
// stdin: {credential (issuer is replaced), mandatoryPointers}
// stdout: {credential, didDocument}
import * as vc from '@digitalbazaar/vc';
import * as Bls12381Multikey from '@digitalbazaar/bls12-381-multikey';
import {documentLoader, readInput, signSuite} from './common.mjs';

const input = await readInput();
const key = await Bls12381Multikey.generateBbsKeyPair({
  algorithm: Bls12381Multikey.ALGORITHMS.BBS_BLS12381_SHA256
});
const did = `did:key:${key.publicKeyMultibase}`;
key.controller = did;
key.id = `${did}#${key.publicKeyMultibase}`;
const didDocument = {
  '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
  id: did,
  verificationMethod: [await key.export({publicKey: true, includeContext: false})],
  assertionMethod: [key.id]
};
const credential = {...input.credential, issuer: did};
const suite = signSuite({signer: key.signer(), mandatoryPointers: input.mandatoryPointers});
const signed = await vc.issue({credential, suite, documentLoader: documentLoader([didDocument])});
console.log(JSON.stringify({credential: signed, didDocument}));
