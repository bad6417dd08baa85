// Issues a VC 2.0 credential signed by a fresh did:key with each EdDSA
// cryptosuite, using Digital Bazaar's libraries.
// stdout: {"eddsa-rdfc-2022": vc, "eddsa-jcs-2022": vc, didDocument}
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createSignCryptosuite, createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {documentLoader} from './loader.mjs';

const key = await Ed25519Multikey.generate();
const did = `did:key:${key.publicKeyMultibase}`;
key.controller = did;
key.id = `${did}#${key.publicKeyMultibase}`;
const didDocument = {
  '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
  id: did,
  verificationMethod: [await key.export({publicKey: true, includeContext: false})],
  authentication: [key.id],
  assertionMethod: [key.id]
};
const credential = {
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://idelta.example/contexts/v1'],
  type: ['VerifiableCredential', 'EmployeeCredential'],
  issuer: did,
  validFrom: '2025-01-01T00:00:00Z',
  credentialSubject: {
    id: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    employer: 'did:idelta:acme',
    employeeId: 'E-2002',
    role: 'auditor'
  }
};
const loader = documentLoader([didDocument]);
const out = {didDocument};
for(const [name, cryptosuite] of [['eddsa-rdfc-2022', rdfc], ['eddsa-jcs-2022', createSignCryptosuite()]]) {
  const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite});
  out[name] = await vc.issue({credential: structuredClone(credential), suite, documentLoader: loader});
}
console.log(JSON.stringify(out));
